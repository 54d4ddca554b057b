package dev.chat.deploy;

import com.fasterxml.jackson.databind.BeanDescription;
import com.fasterxml.jackson.databind.DeserializationConfig;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.cfg.CoercionAction;
import com.fasterxml.jackson.databind.cfg.CoercionInputShape;
import com.fasterxml.jackson.databind.deser.BeanDeserializerBuilder;
import com.fasterxml.jackson.databind.deser.BeanDeserializerModifier;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.module.SimpleModule;
import com.fasterxml.jackson.databind.type.LogicalType;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import io.fabric8.kubernetes.api.model.autoscaling.v2.HorizontalPodAutoscaler;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPRoute;
import io.fabric8.kubernetes.api.model.networking.v1.Ingress;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicy;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

/**
 * Renders k8s/ with {@code kubectl kustomize} and reads every object strictly into the fabric8
 * Kubernetes model: a field the API does not have, or a value of the wrong type, fails.
 *
 * <p>fabric8's model classes keep unknown fields in an "additionalProperties" map (a Jackson
 * any-setter) instead of rejecting them, so Jackson's FAIL_ON_UNKNOWN_PROPERTIES alone would let a
 * misspelt {@code readinesProbe} through. The mapper here removes the any-setter from every bean,
 * and turns off the scalar coercions (a quoted {@code "3"} for an integer, a bare number for a
 * string) that the API server would refuse too.
 *
 * <p>An HTTPRoute is a custom resource: the fabric8 model also has the experimental channel's
 * fields, so it is first held to the standard channel's CRD schema ({@link GatewayApiSchema}).
 */
final class KubernetesManifests {

  /** The kinds the deployment uses, by {@code apiVersion/kind}; any other is a failure. */
  static final Map<String, Class<? extends HasMetadata>> KINDS =
      Map.ofEntries(
          Map.entry("v1/Namespace", Namespace.class),
          Map.entry("v1/ConfigMap", ConfigMap.class),
          Map.entry("v1/Secret", Secret.class),
          Map.entry("v1/Service", Service.class),
          Map.entry("apps/v1/Deployment", Deployment.class),
          Map.entry("apps/v1/StatefulSet", StatefulSet.class),
          Map.entry("networking.k8s.io/v1/Ingress", Ingress.class),
          Map.entry("networking.k8s.io/v1/NetworkPolicy", NetworkPolicy.class),
          Map.entry("policy/v1/PodDisruptionBudget", PodDisruptionBudget.class),
          Map.entry("autoscaling/v2/HorizontalPodAutoscaler", HorizontalPodAutoscaler.class),
          Map.entry("gateway.networking.k8s.io/v1/HTTPRoute", HTTPRoute.class));

  static final ObjectMapper STRICT = strictMapper();

  private KubernetesManifests() {}

  /**
   * {@code kubectl kustomize <dir>}'s output; fails with what kubectl said, or if there is none.
   */
  static String render(Path dir) {
    ProcessBuilder builder = new ProcessBuilder("kubectl", "kustomize", dir.toString());
    Process process;
    try {
      process = builder.start();
    } catch (IOException e) {
      throw new AssertionError(
          "kubectl is needed to render "
              + dir
              + " (kubectl kustomize); install it,"
              + " e.g. apt-get install kubernetes-client (.ci/run does): "
              + e.getMessage(),
          e);
    }
    try {
      process.getOutputStream().close();
      // kustomize output is small; reading stderr after stdout cannot dead-lock at this size.
      byte[] out = process.getInputStream().readAllBytes();
      byte[] err = process.getErrorStream().readAllBytes();
      if (!process.waitFor(60, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        throw new AssertionError("kubectl kustomize " + dir + " did not finish within 60 s");
      }
      if (process.exitValue() != 0) {
        throw new AssertionError(
            "kubectl kustomize "
                + dir
                + " failed ("
                + process.exitValue()
                + "): "
                + new String(err, StandardCharsets.UTF_8));
      }
      return new String(out, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new AssertionError("kubectl kustomize " + dir + ": " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** Every YAML document as a plain map; duplicate keys are an error. */
  static List<Map<String, Object>> documents(String yaml) {
    LoaderOptions options = new LoaderOptions();
    options.setAllowDuplicateKeys(false);
    List<Map<String, Object>> docs = new ArrayList<>();
    for (Object doc : new Yaml(new SafeConstructor(options)).loadAll(yaml)) {
      if (doc == null) {
        continue;
      }
      if (!(doc instanceof Map<?, ?> map)) {
        throw new AssertionError("a YAML document is not an object: " + doc);
      }
      @SuppressWarnings("unchecked")
      Map<String, Object> typed = (Map<String, Object>) map;
      docs.add(typed);
    }
    return docs;
  }

  /** One document as its model class, strictly; fails naming the object and the problem. */
  static HasMetadata parse(Map<String, Object> doc) {
    String key = doc.get("apiVersion") + "/" + doc.get("kind");
    Class<? extends HasMetadata> type = KINDS.get(key);
    if (type == null) {
      throw new AssertionError("unexpected kind " + key + " (known: " + KINDS.keySet() + ")");
    }
    if (type == HTTPRoute.class) {
      List<String> violations = GatewayApiSchema.violations(doc);
      if (!violations.isEmpty()) {
        throw new AssertionError(
            key
                + " does not match the Gateway API "
                + GatewayApiSchema.source()
                + " schema: "
                + String.join("; ", violations));
      }
    }
    try {
      return STRICT.convertValue(doc, type);
    } catch (IllegalArgumentException e) {
      Object name = doc.get("metadata") instanceof Map<?, ?> m ? m.get("name") : null;
      throw new AssertionError(key + " " + name + " does not match the API: " + e.getMessage(), e);
    }
  }

  static List<HasMetadata> parseAll(String yaml) {
    return documents(yaml).stream().map(KubernetesManifests::parse).toList();
  }

  private static ObjectMapper strictMapper() {
    SimpleModule noAnySetter = new SimpleModule("no-additional-properties");
    noAnySetter.setDeserializerModifier(
        new BeanDeserializerModifier() {
          @Override
          public BeanDeserializerBuilder updateBuilder(
              DeserializationConfig config, BeanDescription bean, BeanDeserializerBuilder builder) {
            builder.setAnySetter(null);
            return builder;
          }
        });
    JsonMapper mapper =
        JsonMapper.builder()
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
            .disable(MapperFeature.ALLOW_COERCION_OF_SCALARS)
            .addModule(noAnySetter)
            .build();
    for (CoercionInputShape shape :
        new CoercionInputShape[] {
          CoercionInputShape.Integer, CoercionInputShape.Float, CoercionInputShape.Boolean
        }) {
      mapper.coercionConfigFor(LogicalType.Textual).setCoercion(shape, CoercionAction.Fail);
    }
    return mapper;
  }
}
