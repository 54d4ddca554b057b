package dev.chat.deploy;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * An HTTPRoute checked against the standard channel's CRD schema (Gateway API v1.2.1, vendored in
 * the test resources as gateway-api/httproute-v1.schema.json): the fields the structural schema
 * has, their types, required fields, enums, patterns, lengths, item counts and bounds. The fabric8
 * model alone is not enough: it also has the experimental channel's fields ({@code retry}, {@code
 * sessionPersistence}), which a cluster with the standard CRDs does not know.
 *
 * <p>Of the schema's CEL rules ({@code x-kubernetes-validations}) only the one on timeouts is
 * evaluated (by {@link #timeoutViolations}); the others (e.g. a filter's type matching its field,
 * or unique filter kinds) are not, and only a cluster's API server applies them.
 */
final class GatewayApiSchema {

  private static final String RESOURCE = "/gateway-api/httproute-v1.schema.json";

  /** GEP-2257's Duration, as the CRD's pattern has it. */
  private static final Pattern DURATION_PART = Pattern.compile("([0-9]{1,5})(h|ms|m|s)");

  private static final Map<String, Object> ROOT = load();

  private GatewayApiSchema() {}

  /** The release and channel the schema is from, e.g. "v1.2.1 standard". */
  static String source() {
    return ROOT.get("bundleVersion") + " " + ROOT.get("channel");
  }

  /** Every way {@code route} (one YAML document) departs from the schema; empty if none. */
  @SuppressWarnings("unchecked")
  static List<String> violations(Map<String, Object> route) {
    List<String> errors = new ArrayList<>();
    walk((Map<String, Object>) ROOT.get("openAPIV3Schema"), route, "", errors);
    errors.addAll(timeoutViolations(route));
    return errors;
  }

  /**
   * The CEL rule on each rule's {@code timeouts}: backendRequest may not exceed a non-zero request.
   */
  static List<String> timeoutViolations(Map<String, Object> route) {
    List<String> errors = new ArrayList<>();
    if (!(route.get("spec") instanceof Map<?, ?> spec) || !(spec.get("rules") instanceof List<?>)) {
      return errors;
    }
    List<?> rules = (List<?>) spec.get("rules");
    for (int i = 0; i < rules.size(); i++) {
      if (rules.get(i) instanceof Map<?, ?> rule && rule.get("timeouts") instanceof Map<?, ?> t) {
        Object request = t.get("request");
        Object backend = t.get("backendRequest");
        if (request instanceof String r
            && backend instanceof String b
            // a malformed duration is reported by the pattern already
            && isDuration(r)
            && isDuration(b)
            && !duration(r).isZero()
            && duration(b).compareTo(duration(r)) > 0) {
          errors.add(
              ".spec.rules["
                  + i
                  + "].timeouts: backendRequest timeout cannot be longer than request timeout");
        }
      }
    }
    return errors;
  }

  private static boolean isDuration(String text) {
    try {
      duration(text);
      return true;
    } catch (IllegalArgumentException e) {
      return false;
    }
  }

  /** A Gateway API Duration ("0s", "1h30m", "500ms") as a Duration; fails on any other text. */
  static Duration duration(String text) {
    Matcher m = DURATION_PART.matcher(text);
    Duration total = Duration.ZERO;
    int consumed = 0;
    int parts = 0;
    while (m.find()) {
      if (m.start() != consumed) {
        break;
      }
      long n = Long.parseLong(m.group(1));
      total =
          total.plus(
              switch (m.group(2)) {
                case "h" -> Duration.ofHours(n);
                case "m" -> Duration.ofMinutes(n);
                case "s" -> Duration.ofSeconds(n);
                default -> Duration.ofMillis(n);
              });
      consumed = m.end();
      parts++;
    }
    if (consumed != text.length() || parts == 0 || parts > 4) {
      throw new IllegalArgumentException("not a Gateway API duration: " + text);
    }
    return total;
  }

  @SuppressWarnings("unchecked")
  private static void walk(
      Map<String, Object> schema, Object value, String path, List<String> errors) {
    if (Boolean.TRUE.equals(schema.get("x-kubernetes-preserve-unknown-fields"))) {
      return;
    }
    String type = (String) schema.get("type");
    if (type != null && !hasType(type, value)) {
      errors.add(path + ": " + describe(value) + " where the schema wants " + type);
      return;
    }
    if (schema.get("enum") instanceof List<?> allowed && !allowed.contains(value)) {
      errors.add(path + ": " + value + " is none of " + allowed);
    }
    if (value instanceof Map<?, ?> object) {
      Map<String, Object> properties = (Map<String, Object>) schema.get("properties");
      if (properties == null) {
        return; // metadata: the API server checks it itself
      }
      if (schema.get("required") instanceof List<?> required) {
        for (Object name : required) {
          if (!object.containsKey(name)) {
            errors.add(path + "." + name + ": required");
          }
        }
      }
      object.forEach(
          (k, v) -> {
            Object property = properties.get(String.valueOf(k));
            if (property == null) {
              errors.add(path + "." + k + ": unknown field (known: " + properties.keySet() + ")");
            } else {
              walk((Map<String, Object>) property, v, path + "." + k, errors);
            }
          });
    } else if (value instanceof List<?> list) {
      bound(path, "items", list.size(), schema.get("minItems"), schema.get("maxItems"), errors);
      Map<String, Object> items = (Map<String, Object>) schema.get("items");
      for (int i = 0; i < list.size() && items != null; i++) {
        walk(items, list.get(i), path + "[" + i + "]", errors);
      }
    } else if (value instanceof String s) {
      bound(path, "length", s.length(), schema.get("minLength"), schema.get("maxLength"), errors);
      if (schema.get("pattern") instanceof String pattern
          && !Pattern.compile(pattern).matcher(s).find()) {
        errors.add(path + ": \"" + s + "\" does not match " + pattern);
      }
    } else if (value instanceof Number n) {
      bound(path, "value", n.longValue(), schema.get("minimum"), schema.get("maximum"), errors);
    }
  }

  private static void bound(
      String path, String what, long actual, Object min, Object max, List<String> errors) {
    if (min instanceof Number lo && actual < lo.longValue()) {
      errors.add(path + ": " + what + " " + actual + " below " + lo);
    }
    if (max instanceof Number hi && actual > hi.longValue()) {
      errors.add(path + ": " + what + " " + actual + " above " + hi);
    }
  }

  private static boolean hasType(String type, Object value) {
    return switch (type) {
      case "object" -> value instanceof Map;
      case "array" -> value instanceof List;
      case "string" -> value instanceof String;
      case "integer" -> value instanceof Integer || value instanceof Long;
      case "number" -> value instanceof Number;
      case "boolean" -> value instanceof Boolean;
      default -> throw new IllegalStateException("schema type " + type + " is not handled here");
    };
  }

  private static String describe(Object value) {
    return value == null ? "null" : value.getClass().getSimpleName() + " " + value;
  }

  private static Map<String, Object> load() {
    try (InputStream in = GatewayApiSchema.class.getResourceAsStream(RESOURCE)) {
      if (in == null) {
        throw new IllegalStateException(RESOURCE + " is not on the test class path");
      }
      return new ObjectMapper().readValue(in, new TypeReference<Map<String, Object>>() {});
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
