package dev.chat.bench;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** {@code <scenario> --key value ...}: every option takes one value. */
public final class Options {
  public final String scenario;
  private final Map<String, String> values = new LinkedHashMap<>();

  public Options(String[] args) {
    if (args.length == 0) throw new IllegalArgumentException("missing scenario");
    scenario = args[0];
    for (int i = 1; i < args.length; i++) {
      if (!args[i].startsWith("--") || i + 1 >= args.length) {
        throw new IllegalArgumentException("expected --option value at " + args[i]);
      }
      values.put(args[i].substring(2), args[++i]);
    }
  }

  public Map<String, String> all() {
    return values;
  }

  public String str(String k, String def) {
    return values.getOrDefault(k, def);
  }

  public int integer(String k, int def) {
    return values.containsKey(k) ? Integer.parseInt(values.get(k)) : def;
  }

  public long lng(String k, long def) {
    return values.containsKey(k) ? Long.parseLong(values.get(k)) : def;
  }

  public double dbl(String k, double def) {
    return values.containsKey(k) ? Double.parseDouble(values.get(k)) : def;
  }

  public List<String> list(String k, String def) {
    String v = str(k, def);
    if (v == null || v.isBlank()) return new ArrayList<>();
    return new ArrayList<>(
        Arrays.stream(v.split(",")).map(String::trim).filter(s -> !s.isEmpty()).toList());
  }

  public List<Double> numbers(String k, String def) {
    return list(k, def).stream().map(Double::parseDouble).toList();
  }

  public List<Long> longs(String k, String def) {
    return list(k, def).stream().map(Long::parseLong).toList();
  }
}
