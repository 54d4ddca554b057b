package dev.chat.ops;

import dev.chat.testing.ChatNode;
import java.io.IOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** One scrape of a node's {@code GET /metrics}, parsed from the Prometheus text format. */
final class Scrape {

  /** One sample line: series name, labels, value. */
  record Sample(String name, Map<String, String> labels, double value) {}

  private static final HttpClient HTTP =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
  private static final Pattern LABEL = Pattern.compile("(\\w+)=\"((?:[^\"\\\\]|\\\\.)*)\"");

  private final String contentType;
  private final List<Sample> samples;

  private Scrape(String contentType, List<Sample> samples) {
    this.contentType = contentType;
    this.samples = samples;
  }

  /** Scrapes {@code node}; fails unless it answers 200. */
  static Scrape of(ChatNode node) {
    HttpRequest request =
        HttpRequest.newBuilder(node.httpUri("/metrics"))
            .timeout(Duration.ofSeconds(5))
            .GET()
            .build();
    try {
      HttpResponse<String> response = HTTP.send(request, HttpResponse.BodyHandlers.ofString());
      if (response.statusCode() != 200) {
        throw new AssertionError("GET /metrics of " + node + " answered " + response.statusCode());
      }
      return new Scrape(
          response.headers().firstValue("content-type").orElse(""), parse(response.body()));
    } catch (IOException e) {
      throw new AssertionError("GET /metrics of " + node + " failed: " + e, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }

  String contentType() {
    return contentType;
  }

  /** Every series name in the scrape. */
  Set<String> names() {
    Set<String> names = new TreeSet<>();
    samples.forEach(s -> names.add(s.name()));
    return names;
  }

  /** True if some sample of {@code name} has all the labels given as name, value pairs. */
  boolean has(String name, String... labels) {
    return samples.stream().anyMatch(s -> matches(s, name, labels));
  }

  /** The sum of the samples of {@code name} with the given labels; fails if there is none. */
  double value(String name, String... labels) {
    List<Sample> found = samples.stream().filter(s -> matches(s, name, labels)).toList();
    if (found.isEmpty()) {
      throw new AssertionError(
          "no series " + name + " with labels " + List.of(labels) + " in " + names());
    }
    return found.stream().mapToDouble(Sample::value).sum();
  }

  private static boolean matches(Sample s, String name, String... labels) {
    if (!s.name().equals(name)) {
      return false;
    }
    for (int i = 0; i + 1 < labels.length; i += 2) {
      if (!labels[i + 1].equals(s.labels().get(labels[i]))) {
        return false;
      }
    }
    return true;
  }

  private static List<Sample> parse(String body) {
    List<Sample> samples = new ArrayList<>();
    for (String line : body.split("\n")) {
      if (line.isBlank() || line.startsWith("#")) {
        continue;
      }
      int brace = line.indexOf('{');
      int space = line.lastIndexOf(' ');
      String name;
      Map<String, String> labels = new LinkedHashMap<>();
      if (brace >= 0 && brace < space) {
        name = line.substring(0, brace);
        Matcher m = LABEL.matcher(line.substring(brace, line.lastIndexOf('}') + 1));
        while (m.find()) {
          labels.put(m.group(1), m.group(2));
        }
      } else {
        name = line.substring(0, line.indexOf(' '));
      }
      samples.add(new Sample(name, labels, Double.parseDouble(line.substring(space + 1))));
    }
    return samples;
  }
}
