package dev.chat.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.awt.Graphics2D;
import java.awt.geom.Rectangle2D;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.text.AttributedCharacterIterator;
import java.text.AttributedString;
import java.text.CharacterIterator;
import java.util.List;
import javax.imageio.ImageIO;
import org.jfree.chart.axis.AxisState;
import org.jfree.chart.axis.LogAxis;
import org.jfree.chart.axis.LogTick;
import org.jfree.chart.axis.TickType;
import org.jfree.chart.ui.RectangleEdge;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PlotsTest {
  @TempDir Path dir;

  private static List<String> majorTickLabels(LogAxis axis) {
    BufferedImage img = new BufferedImage(900, 500, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = img.createGraphics();
    try {
      List<?> ticks =
          axis.refreshTicks(
              g, new AxisState(), new Rectangle2D.Double(60, 20, 800, 420), RectangleEdge.LEFT);
      // A LogAxis labels its ticks with attributed strings; minor ticks have none.
      return ticks.stream()
          .map(t -> (LogTick) t)
          .filter(t -> TickType.MAJOR.equals(t.getTickType()) && t.getAttributedLabel() != null)
          .map(t -> text(t.getAttributedLabel()))
          .toList();
    } finally {
      g.dispose();
    }
  }

  private static String text(AttributedString s) {
    StringBuilder b = new StringBuilder();
    AttributedCharacterIterator it = s.getIterator();
    for (char c = it.first(); c != CharacterIterator.DONE; c = it.next()) b.append(c);
    return b.toString();
  }

  @Test
  @DisplayName("a latency axis from 0.6 ms to 3 s is labelled at the decades and nowhere else")
  void decades() {
    assertThat(majorTickLabels(Plots.decadeAxis("ms", 0.6, 3000)))
        .containsExactly("0.1", "1", "10", "100", "1,000", "10,000");
  }

  @Test
  @DisplayName("data within one decade still gets the two decades around it")
  void withinOneDecade() {
    assertThat(majorTickLabels(Plots.decadeAxis("ms", 2, 8))).containsExactly("1", "10");
  }

  @Test
  @DisplayName("a chart with server lines and a target renders to a PNG of the report's size")
  void renders() throws Exception {
    Plots.Line p50 = Plots.Line.of("ours", "ours p50", Plots.DASHED),
        p99 = Plots.Line.of("ours", "ours p99", Plots.SOLID),
        sio = Plots.Line.of("socketio", "socketio p99", Plots.SOLID);
    for (int i = 1; i <= 5; i++) {
      p50.series().add(i * 10_000, 0.7 * i);
      p99.series().add(i * 10_000, 6.3 * i * i);
      sio.series().add(i * 10_000, 12.0 * i * i);
    }
    Path png = dir.resolve("latency.png");
    assertThat(
            Plots.chart(
                png,
                "latency",
                "deliveries/s",
                "latency (ms, log)",
                true,
                List.of(p50, p99, sio),
                List.of(new Plots.Marker(50, "target: p99 ≤ 50 ms", true))))
        .isTrue();
    BufferedImage img = ImageIO.read(png.toFile());
    assertThat(img.getWidth()).isEqualTo(Plots.WIDTH);
    assertThat(img.getHeight()).isEqualTo(Plots.HEIGHT);
    // Ours' blue is drawn somewhere on the white plot.
    boolean blue = false;
    int want = Plots.colour("ours").getRGB();
    for (int x = 0; x < img.getWidth() && !blue; x++)
      for (int y = 0; y < img.getHeight() && !blue; y++) blue = img.getRGB(x, y) == want;
    assertThat(blue).as("ours' colour appears").isTrue();
    assertThat(Plots.chart(png, "t", "x", "y", true, List.of(), List.of())).isFalse();
  }
}
