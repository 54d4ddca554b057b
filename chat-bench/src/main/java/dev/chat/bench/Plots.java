package dev.chat.bench;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Paint;
import java.awt.Stroke;
import java.io.IOException;
import java.nio.file.Path;
import java.text.DecimalFormat;
import java.util.List;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.LogAxis;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.axis.NumberTickUnit;
import org.jfree.chart.plot.ValueMarker;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.chart.ui.RectangleAnchor;
import org.jfree.chart.ui.TextAnchor;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

/**
 * The report's charts, drawn to read at a glance: one colour per server (the same in every chart),
 * p50 dashed and p99 solid, log axes ticked at whole decades only, targets drawn as black lines,
 * and no light colours on the white background.
 */
final class Plots {
  private Plots() {}

  static final int WIDTH = 900, HEIGHT = 500;

  /** A server's colour: dark, saturated, told apart also by the colour-blind (no yellow). */
  static Color colour(String label) {
    return switch (label) {
      case "ours" -> new Color(0, 90, 181);
      case "socketio" -> new Color(200, 40, 30);
      case "socketio-sharded" -> new Color(0, 130, 60);
      case "floor" -> new Color(70, 70, 70);
      default -> new Color(120, 40, 150);
    };
  }

  static final Stroke SOLID = new BasicStroke(2.5f);
  static final Stroke DASHED =
      new BasicStroke(
          2f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10f, new float[] {8f, 5f}, 0);
  static final Stroke DOTTED =
      new BasicStroke(
          2f, BasicStroke.CAP_ROUND, BasicStroke.JOIN_ROUND, 10f, new float[] {2f, 4f}, 0);
  static final Stroke TARGET =
      new BasicStroke(
          1.5f,
          BasicStroke.CAP_BUTT,
          BasicStroke.JOIN_MITER,
          10f,
          new float[] {12f, 4f, 2f, 4f},
          0);

  /** One line of a chart: its points, whose it is (the colour), and how it is drawn. */
  record Line(XYSeries series, Paint paint, Stroke stroke) {
    static Line of(String label, String name, Stroke stroke) {
      return new Line(new XYSeries(name, false), colour(label), stroke);
    }

    static Line target(String name) {
      return new Line(new XYSeries(name, false), Color.BLACK, TARGET);
    }
  }

  /** A straight target line across the chart at {@code value} of the range (or domain) axis. */
  record Marker(double value, String label, boolean horizontal) {}

  /**
   * Writes a line chart of {@code lines} (those without points are left out) with a log range axis
   * when {@code logY}; returns false when there is nothing to draw.
   */
  static boolean chart(
      Path file,
      String title,
      String xLabel,
      String yLabel,
      boolean logY,
      List<Line> lines,
      List<Marker> markers)
      throws IOException {
    List<Line> drawn = lines.stream().filter(l -> l.series().getItemCount() > 0).toList();
    if (drawn.isEmpty()) return false;
    XYSeriesCollection data = new XYSeriesCollection();
    XYLineAndShapeRenderer renderer = new XYLineAndShapeRenderer(true, true);
    for (int i = 0; i < drawn.size(); i++) {
      data.addSeries(drawn.get(i).series());
      renderer.setSeriesPaint(i, drawn.get(i).paint());
      renderer.setSeriesStroke(i, drawn.get(i).stroke());
      renderer.setSeriesShapesVisible(i, drawn.get(i).stroke() != TARGET);
    }
    NumberAxis x = new NumberAxis(xLabel);
    x.setNumberFormatOverride(new DecimalFormat("#,##0"));
    // From the data, not from zero: steady's two loads would otherwise sit in the right half.
    x.setAutoRangeIncludesZero(false);
    org.jfree.chart.axis.ValueAxis y;
    double lo = Double.MAX_VALUE, hi = 0;
    for (Line l : drawn) {
      for (int i = 0; i < l.series().getItemCount(); i++) {
        double v = l.series().getY(i).doubleValue();
        if (v > 0) lo = Math.min(lo, v);
        hi = Math.max(hi, v);
      }
    }
    for (Marker m : markers) {
      if (m.horizontal() && m.value() > 0) {
        lo = Math.min(lo, m.value());
        hi = Math.max(hi, m.value());
      }
    }
    if (logY) {
      y = decadeAxis(yLabel, lo, hi);
    } else {
      NumberAxis n = new NumberAxis(yLabel);
      n.setAutoRangeIncludesZero(true);
      n.setUpperBound(hi * 1.1);
      y = n;
    }
    XYPlot plot = new XYPlot(data, x, y, renderer);
    for (Marker m : markers) {
      ValueMarker vm = new ValueMarker(m.value(), Color.BLACK, TARGET);
      vm.setLabel(m.label());
      vm.setLabelFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
      vm.setLabelPaint(Color.BLACK);
      vm.setLabelBackgroundColor(new Color(255, 255, 255, 230));
      if (m.horizontal()) {
        vm.setLabelAnchor(RectangleAnchor.TOP_LEFT);
        vm.setLabelTextAnchor(TextAnchor.BOTTOM_LEFT);
        plot.addRangeMarker(vm);
      } else {
        vm.setLabelAnchor(RectangleAnchor.TOP_RIGHT);
        vm.setLabelTextAnchor(TextAnchor.TOP_LEFT);
        plot.addDomainMarker(vm);
      }
    }
    plot.setBackgroundPaint(Color.WHITE);
    plot.setDomainGridlinePaint(Color.LIGHT_GRAY);
    plot.setRangeGridlinePaint(Color.LIGHT_GRAY);
    JFreeChart chart = new JFreeChart(title, JFreeChart.DEFAULT_TITLE_FONT, plot, true);
    chart.setBackgroundPaint(Color.WHITE);
    ChartUtils.saveChartAsPNG(file.toFile(), chart, WIDTH, HEIGHT);
    return true;
  }

  /**
   * A log axis over whole decades enclosing {@code [lo, hi]}, ticked and labelled at each power of
   * ten (0.1, 1, 10, 100, 1000) and nowhere else: JFreeChart's automatic log ticks land on values
   * like 6309.57.
   */
  static LogAxis decadeAxis(String label, double lo, double hi) {
    if (!(lo > 0) || lo == Double.MAX_VALUE) lo = 1;
    if (!(hi > lo)) hi = lo * 10;
    double from = Math.pow(10, Math.floor(Math.log10(lo))),
        to = Math.pow(10, Math.ceil(Math.log10(hi)));
    if (to <= from) to = from * 10;
    LogAxis a = new LogAxis(label);
    a.setBase(10);
    a.setSmallestValue(from / 10);
    a.setAutoRange(false);
    // A hair beyond the decades: a tick exactly on the bound can be lost to rounding in the log.
    a.setRange(from * 0.98, to * 1.02);
    // The tick unit of a LogAxis is in exponents: 1 = one decade.
    a.setAutoTickUnitSelection(false);
    a.setTickUnit(new NumberTickUnit(1));
    a.setMinorTickCount(1);
    a.setMinorTickMarksVisible(false);
    a.setNumberFormatOverride(new DecimalFormat("#,##0.###"));
    return a;
  }
}
