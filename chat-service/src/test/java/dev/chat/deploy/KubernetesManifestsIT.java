package dev.chat.deploy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.chat.config.Config;
import dev.chat.config.RedisSettings;
import dev.chat.testing.ChatNode;
import dev.chat.testing.RedisServer;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.EnvFromSource;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.HTTPGetAction;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.LabelSelector;
import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.api.model.PodSecurityContext;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.PodTemplateSpec;
import io.fabric8.kubernetes.api.model.Probe;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecurityContext;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServicePort;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import io.fabric8.kubernetes.api.model.autoscaling.v2.HorizontalPodAutoscaler;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPBackendRef;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPRoute;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPRouteRule;
import io.fabric8.kubernetes.api.model.networking.v1.Ingress;
import io.fabric8.kubernetes.api.model.networking.v1.IngressBackend;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicy;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicyEgressRule;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicyIngressRule;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicyPeer;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * k8s/ as {@code kubectl apply -k k8s} would send it: rendered by kubectl's kustomize, every object
 * read strictly against the Kubernetes API model, then held to the service's own routes, settings
 * and shutdown behaviour.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class KubernetesManifestsIT {

  private static final String NAMESPACE = "chat";

  /** A Deployment's pod name adds "-" + a replica-set hash (up to 10) + "-" + 5 characters. */
  private static final int POD_NAME_SUFFIX = 17;

  private static final int NODE_ID_MAX = 64;

  /**
   * Stopping after the drain window: last close handshakes (1 s), broker leaves (2 s), the rest; at
   * most 6 s even when Redis hangs (docs/operations.md, "Graceful drain").
   */
  private static final long STOP_MARGIN_MS = 6_000;

  /** Variables that are not the service's but that a pod may set for the JVM. */
  private static final Set<String> JVM_VARIABLES = Set.of("JAVA_TOOL_OPTIONS");

  /** What an operator adds to the Secret to turn the server API on. */
  private static final String API_KEY = "api-" + UUID.randomUUID();

  /** What an operator puts in the Secret in place of its placeholder. */
  private static final String REAL_SECRET = UUID.randomUUID() + "-" + UUID.randomUUID();

  private List<HasMetadata> objects;
  private Deployment chat;
  private Container chatContainer;
  private Map<String, String> chatEnv;
  private Config chatConfig;

  @BeforeAll
  void render() {
    objects = KubernetesManifests.parseAll(KubernetesManifests.render(Repo.path("k8s")));
    chat = one(Deployment.class, "chat");
    chatContainer = container(chat.getSpec().getTemplate(), "chat");
    chatEnv = literalEnvironment(chatContainer);
    chatConfig = ServiceEnvironment.config(operatorEnvironment());
  }

  @Test
  @DisplayName("kubectl kustomize renders every object the deployment needs, in the chat namespace")
  void rendersTheExpectedObjects() {
    Set<String> rendered = new TreeSet<>();
    for (HasMetadata o : objects) {
      String name = o.getMetadata().getName();
      if (o instanceof ConfigMap && name.startsWith("chat-config-")) {
        name = "chat-config-<hash>";
      }
      rendered.add(o.getKind() + "/" + name);
      if (!(o instanceof Namespace)) {
        assertThat(o.getMetadata().getNamespace()).as("namespace of %s", name).isEqualTo(NAMESPACE);
      }
    }
    assertThat(rendered)
        .containsExactlyInAnyOrder(
            "Namespace/chat",
            "ConfigMap/chat-config-<hash>",
            "Secret/chat-secrets",
            "Service/chat",
            "Service/chat-api",
            "Deployment/chat",
            "Ingress/chat",
            "Ingress/chat-metrics",
            "Ingress/chat-api",
            "NetworkPolicy/chat",
            "PodDisruptionBudget/chat",
            "HorizontalPodAutoscaler/chat",
            "StatefulSet/redis",
            "Service/redis",
            "Service/redis-headless",
            "NetworkPolicy/redis");
  }

  @Test
  @DisplayName(
      "the strict reading rejects a misspelt field, a quoted number and a numeric annotation")
  void strictReadingCanFail() {
    String deployment =
        """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: x}
        spec:
          replicas: 3
          template:
            spec:
              containers: [{name: c, image: "c:1", readinessProbe: {httpGet: {path: /, port: 80}}}]
        """;
    assertThat(KubernetesManifests.parseAll(deployment)).hasSize(1);
    assertThatThrownBy(
            () ->
                KubernetesManifests.parseAll(deployment.replace("readinessProbe", "readinesProbe")))
        .hasMessageContaining("readinesProbe");
    assertThatThrownBy(
            () ->
                KubernetesManifests.parseAll(deployment.replace("replicas: 3", "replicas: \"3\"")))
        .hasMessageContaining("does not match the API");
    assertThatThrownBy(
            () ->
                KubernetesManifests.parseAll(
                    deployment.replace(
                        "metadata: {name: x}", "metadata: {name: x, annotations: {port: 8080}}")))
        .hasMessageContaining("does not match the API");
    assertThatThrownBy(
            () ->
                KubernetesManifests.parseAll(
                    deployment.replace("kind: Deployment", "kind: Deployment\nkind: Pod")))
        .hasMessageContaining("duplicate");
  }

  @Test
  @DisplayName("every variable the chat pods get is one the service reads (or reserved for it)")
  void environmentNamesAreKnown() {
    assertThat(environmentNames(chatContainer))
        .isNotEmpty()
        .allSatisfy(
            name -> {
              if (!JVM_VARIABLES.contains(name)) {
                assertThat(ServiceEnvironment.allowed(name))
                    .as("%s is read by the service (known: %s)", name, ServiceEnvironment.known())
                    .isTrue();
              }
            });
  }

  @Test
  @DisplayName("the ConfigMap's settings are a configuration the service accepts")
  void configMapIsAValidConfig() {
    assertThat(chatEnv).containsKeys("CHAT_PORT", "CHAT_REDIS_URL", "CHAT_HEARTBEAT_TIMEOUT_MS");
    assertThat(chatConfig.embeddedBroker()).as("the pods use Redis").isFalse();
  }

  @Test
  @DisplayName(
      "the pods run with tokens, and the Secret's placeholder key is refused until replaced")
  void tokensWithARealKeyOnly() {
    assertThat(chatConfig.auth().jwt()).as("CHAT_AUTH=jwt").isTrue();
    Map<String, String> unedited = new LinkedHashMap<>(operatorEnvironment());
    unedited.put("CHAT_JWT_SECRET", chatEnv.get("CHAT_JWT_SECRET"));
    assertThatThrownBy(() -> Config.from(unedited))
        .as("an unedited deployment must not run with a key published in git")
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("CHAT_JWT_SECRET");
  }

  @Test
  @DisplayName("browsers may open sockets only from the Ingress hosts, over https")
  void allowedOriginsAreTheIngressHosts() {
    List<String> hosts =
        objects.stream()
            .filter(Ingress.class::isInstance)
            .map(Ingress.class::cast)
            .flatMap(i -> i.getSpec().getRules().stream())
            .map(r -> r.getHost())
            .distinct()
            .toList();
    assertThat(hosts).isNotEmpty().doesNotContainNull();
    assertThat(chatConfig.allowedOrigins())
        .containsExactlyInAnyOrderElementsOf(hosts.stream().map(h -> "https://" + h).toList());
  }

  @Test
  @DisplayName("CHAT_NODE_ID is the pod's name, which stays within the service's 64 characters")
  void nodeIdIsThePodName() {
    EnvVar nodeId =
        chatContainer.getEnv().stream()
            .filter(e -> e.getName().equals("CHAT_NODE_ID"))
            .findFirst()
            .orElseThrow();
    assertThat(nodeId.getValueFrom().getFieldRef().getFieldPath()).isEqualTo("metadata.name");
    assertThat(chat.getMetadata().getName().length() + POD_NAME_SUFFIX)
        .isLessThanOrEqualTo(NODE_ID_MAX);
  }

  @Test
  @DisplayName("probes ask the health routes on the container port that is CHAT_PORT")
  void probesMatchTheService() {
    int port = chatConfig.port();
    assertThat(containerPort(chatContainer, "http")).isEqualTo(port);
    assertThat(probePath(chatContainer.getReadinessProbe())).isEqualTo("/health/ready");
    assertThat(probePath(chatContainer.getLivenessProbe())).isEqualTo("/health/live");
    assertThat(probePath(chatContainer.getStartupProbe())).isIn("/health/live", "/health/ready");
    for (Probe probe : probes(chatContainer)) {
      assertThat(resolvePort(chatContainer, probe.getHttpGet().getPort())).isEqualTo(port);
    }
    Probe startup = chatContainer.getStartupProbe();
    assertThat(startup.getPeriodSeconds() * startup.getFailureThreshold())
        .as("seconds a node may take to start")
        .isGreaterThanOrEqualTo(30);
    Service service = one(Service.class, "chat");
    for (ServicePort p : service.getSpec().getPorts()) {
      assertThat(resolvePort(chatContainer, p.getTargetPort())).isEqualTo(port);
    }
  }

  @Test
  @DisplayName(
      "a node started with the ConfigMap's settings answers every probe, and serves metrics where the scrape annotations say")
  void probesAnswerOnARealNode() throws Exception {
    Map<String, String> scrape = chat.getSpec().getTemplate().getMetadata().getAnnotations();
    assertThat(scrape).containsEntry("prometheus.io/scrape", "true");
    assertThat(Integer.parseInt(scrape.get("prometheus.io/port")))
        .as("scrape port")
        .isEqualTo(chatConfig.port());
    try (RedisServer redis = RedisServer.start()) {
      ChatNode.Builder builder = ChatNode.builder().name("k8s-probes");
      // The pod's port and Redis address are replaced by this machine's (the fixture picks a free
      // port, and picks again if another process takes it first); the rest is as deployed.
      operatorEnvironment()
          .forEach(
              (k, v) -> {
                if (!k.equals("CHAT_PORT") && !k.equals("CHAT_API_PORT")) {
                  builder.env(k, v);
                }
              });
      builder.env("CHAT_REDIS_URL", redis.uri());
      int apiPort = dev.chat.testing.Ports.freePort();
      builder.env("CHAT_API_PORT", Integer.toString(apiPort));
      builder.env("CHAT_API_KEY", API_KEY);
      try (ChatNode node = builder.start()) {
        assertThat(apiStatus(apiPort)).as("the API on its own port").isEqualTo(200);
        assertThat(apiStatus(node.port())).as("the API on the public port").isEqualTo(404);
        for (Probe probe : probes(chatContainer)) {
          String path = probePath(probe);
          assertThat(node.httpStatus(path)).as("GET %s", path).isEqualTo(200);
        }
        HttpResponse<String> metrics =
            HttpClient.newHttpClient()
                .send(
                    HttpRequest.newBuilder(node.httpUri(scrape.get("prometheus.io/path")))
                        .GET()
                        .build(),
                    HttpResponse.BodyHandlers.ofString());
        assertThat(metrics.statusCode()).isEqualTo(200);
        assertThat(metrics.headers().firstValue("Content-Type"))
            .hasValueSatisfying(t -> assertThat(t).startsWith("text/plain"));
        assertThat(metrics.body()).contains("# TYPE ");
      }
    }
  }

  @Test
  @DisplayName("the grace period covers the preStop pause, the drain window and the stop after it")
  void gracePeriodCoversTheDrain() {
    long drainMs = ServiceEnvironment.drainWindowMs(chatConfig);
    List<String> preStop = chatContainer.getLifecycle().getPreStop().getExec().getCommand();
    assertThat(preStop).hasSize(2).first().isEqualTo("sleep");
    long pauseMs = Long.parseLong(preStop.get(1)) * 1000;
    long graceMs = chat.getSpec().getTemplate().getSpec().getTerminationGracePeriodSeconds() * 1000;
    assertThat(pauseMs).as("preStop pause").isPositive();
    assertThat(graceMs)
        .as(
            "terminationGracePeriodSeconds in ms, against preStop %d + drain %d + %d",
            pauseMs, drainMs, STOP_MARGIN_MS)
        .isGreaterThan(pauseMs + drainMs + STOP_MARGIN_MS);
  }

  @Test
  @DisplayName(
      "the Ingress outlasts a silent socket's heartbeat timeout, has no affinity and reaches the Service")
  void ingressSuitsWebSockets() {
    Ingress ingress = one(Ingress.class, "chat");
    Map<String, String> annotations = ingress.getMetadata().getAnnotations();
    // A healthy socket is never silent longer than one ping period; a silent one is closed by
    // the service at the heartbeat timeout. The proxy must allow at least that plus a period.
    long floorMs = chatConfig.heartbeatTimeoutMs() + chatConfig.heartbeatIntervalMs();
    for (String timeout : List.of("proxy-read-timeout", "proxy-send-timeout")) {
      String value = annotations.get("nginx.ingress.kubernetes.io/" + timeout);
      assertThat(value).as(timeout).isNotNull();
      assertThat(Long.parseLong(value) * 1000)
          .as("%s in ms", timeout)
          .isGreaterThanOrEqualTo(floorMs);
    }
    assertThat(annotations.keySet())
        .as("no sticky sessions")
        .noneMatch(
            k ->
                k.contains("affinity")
                    || k.contains("upstream-hash-by")
                    || k.contains("session-cookie"));
    assertThat(ingress.getSpec().getIngressClassName()).isEqualTo("nginx");
    Service service = one(Service.class, "chat");
    assertThat(service.getSpec().getSessionAffinity()).isIn(null, "None");
    List<IngressBackend> backends =
        ingress.getSpec().getRules().stream()
            .flatMap(r -> r.getHttp().getPaths().stream())
            .map(p -> p.getBackend())
            .toList();
    assertThat(backends)
        .isNotEmpty()
        .allSatisfy(
            b -> {
              assertThat(b.getService().getName()).isEqualTo("chat");
              assertThat(service.getSpec().getPorts())
                  .anyMatch(
                      p ->
                          Objects.equals(p.getName(), b.getService().getPort().getName())
                              || Objects.equals(p.getPort(), b.getService().getPort().getNumber()));
            });
  }

  @Test
  @DisplayName("the public entry point refuses /metrics on every host, to every address")
  void metricsStayPrivate() {
    Ingress chatIngress = one(Ingress.class, "chat");
    Ingress metrics = one(Ingress.class, "chat-metrics");
    assertThat(metrics.getSpec().getIngressClassName())
        .isEqualTo(chatIngress.getSpec().getIngressClassName());
    assertThat(metrics.getMetadata().getAnnotations())
        .containsEntry("nginx.ingress.kubernetes.io/denylist-source-range", "0.0.0.0/0,::/0");
    List<String> publicHosts =
        chatIngress.getSpec().getRules().stream().map(r -> r.getHost()).toList();
    assertThat(metrics.getSpec().getRules())
        .extracting(r -> r.getHost())
        .containsExactlyInAnyOrderElementsOf(publicHosts);
    assertThat(metrics.getSpec().getRules())
        .allSatisfy(
            rule ->
                assertThat(rule.getHttp().getPaths())
                    .singleElement()
                    .satisfies(
                        p -> {
                          assertThat(p.getPath()).isEqualTo("/metrics");
                          assertThat(p.getPathType()).isEqualTo("Exact");
                        }));
  }

  @Test
  @DisplayName(
      "the server API has a port and a Service of its own, which no Ingress routes to, and the public entry point refuses /api")
  void serverApiStaysOffThePublicEntryPoint() {
    int apiPort = chatConfig.api().port();
    assertThat(apiPort).as("CHAT_API_PORT").isPositive().isNotEqualTo(chatConfig.port());
    assertThat(containerPort(chatContainer, "api")).isEqualTo(apiPort);
    Map<String, String> chatPods = chat.getSpec().getTemplate().getMetadata().getLabels();

    Service api = one(Service.class, "chat-api");
    assertThat(api.getSpec().getType()).isIn(null, "ClusterIP");
    assertThat(chatPods).containsAllEntriesOf(api.getSpec().getSelector());
    assertThat(api.getSpec().getPorts())
        .isNotEmpty()
        .allSatisfy(
            p -> assertThat(resolvePort(chatContainer, p.getTargetPort())).isEqualTo(apiPort));
    for (Service service : all(Service.class)) {
      if (!service.getMetadata().getName().equals("chat-api")
          && matchesLabels(service.getSpec().getSelector(), chatPods)) {
        assertThat(service.getSpec().getPorts())
            .as("Service %s exposes no API port", service.getMetadata().getName())
            .noneMatch(p -> resolvePort(chatContainer, p.getTargetPort()) == apiPort);
      }
    }

    Ingress refusal = one(Ingress.class, "chat-api");
    assertThat(refusal.getMetadata().getAnnotations())
        .containsEntry("nginx.ingress.kubernetes.io/denylist-source-range", "0.0.0.0/0,::/0");
    assertThat(refusal.getSpec().getRules())
        .extracting(r -> r.getHost())
        .containsExactlyInAnyOrderElementsOf(
            one(Ingress.class, "chat").getSpec().getRules().stream()
                .map(r -> r.getHost())
                .toList());
    assertThat(refusal.getSpec().getRules())
        .allSatisfy(
            rule ->
                assertThat(rule.getHttp().getPaths())
                    .singleElement()
                    .satisfies(
                        p -> {
                          assertThat(p.getPath()).isEqualTo("/api");
                          assertThat(p.getPathType()).isEqualTo("Prefix");
                        }));
    for (Ingress ingress : all(Ingress.class)) {
      for (var rule : ingress.getSpec().getRules()) {
        for (var path : rule.getHttp().getPaths()) {
          var backend = path.getBackend().getService();
          assertThat(backend.getName())
              .as("Ingress %s routes nothing to the API Service", ingress.getMetadata().getName())
              .isNotEqualTo("chat-api");
          Service target = one(Service.class, backend.getName());
          target.getSpec().getPorts().stream()
              .filter(
                  p ->
                      Objects.equals(p.getName(), backend.getPort().getName())
                          || Objects.equals(p.getPort(), backend.getPort().getNumber()))
              .forEach(
                  p ->
                      assertThat(resolvePort(chatContainer, p.getTargetPort()))
                          .as("Ingress %s reaches the API port", ingress.getMetadata().getName())
                          .isNotEqualTo(apiPort));
        }
      }
    }
  }

  @Test
  @DisplayName(
      "NetworkPolicy chat admits only labelled backend pods to the API port, and anyone to the public port")
  void onlyTheBackendReachesTheApiPort() {
    Map<String, String> chatPods = chat.getSpec().getTemplate().getMetadata().getLabels();
    int apiPort = chatConfig.api().port();
    NetworkPolicy policy = one(NetworkPolicy.class, "chat");
    assertThat(matches(policy.getSpec().getPodSelector(), chatPods)).isTrue();
    assertThat(policy.getSpec().getPolicyTypes()).contains("Ingress");
    boolean publicPortOpen = false;
    boolean apiPortAdmitted = false;
    for (NetworkPolicyIngressRule rule : policy.getSpec().getIngress()) {
      assertThat(rule.getPorts()).as("every rule names its ports").isNotEmpty();
      boolean api =
          rule.getPorts().stream()
              .anyMatch(p -> resolvePort(chatContainer, p.getPort()) == apiPort);
      if (api) {
        apiPortAdmitted = true;
        assertThat(rule.getFrom()).as("the API port is not open to all").isNotEmpty();
        for (NetworkPolicyPeer peer : rule.getFrom()) {
          assertThat(peer.getIpBlock()).as("no address ranges").isNull();
          assertThat(peer.getPodSelector()).as("backend pods, by label").isNotNull();
          assertThat(peer.getPodSelector().getMatchLabels())
              .containsEntry("chat-api-client", "true");
          assertThat(matches(peer.getPodSelector(), chatPods)).as("not the chat pods").isFalse();
        }
      } else if (rule.getFrom() == null || rule.getFrom().isEmpty()) {
        publicPortOpen |=
            rule.getPorts().stream()
                .anyMatch(p -> resolvePort(chatContainer, p.getPort()) == chatConfig.port());
      }
    }
    assertThat(apiPortAdmitted).as("backends can reach the API").isTrue();
    assertThat(publicPortOpen)
        .as("ingress controller, Prometheus and probes reach CHAT_PORT")
        .isTrue();
  }

  @Test
  @DisplayName(
      "the Service, PodDisruptionBudget and autoscaler act on the chat pods and leave some running")
  void selectorsMatchTheChatPods() {
    Map<String, String> chatPods = chat.getSpec().getTemplate().getMetadata().getLabels();
    Map<String, String> redisPods =
        one(StatefulSet.class, "redis").getSpec().getTemplate().getMetadata().getLabels();
    assertThat(matches(chat.getSpec().getSelector(), chatPods)).as("Deployment selector").isTrue();

    PodDisruptionBudget pdb = one(PodDisruptionBudget.class, "chat");
    assertThat(matches(pdb.getSpec().getSelector(), chatPods))
        .as("PDB selects the chat pods")
        .isTrue();
    assertThat(matches(pdb.getSpec().getSelector(), redisPods))
        .as("PDB leaves Redis alone")
        .isFalse();

    Service service = one(Service.class, "chat");
    assertThat(chatPods).containsAllEntriesOf(service.getSpec().getSelector());
    assertThat(redisPods)
        .as("Service chat selects no Redis pod")
        .doesNotContainEntry(
            "app.kubernetes.io/name",
            service.getSpec().getSelector().get("app.kubernetes.io/name"));

    HorizontalPodAutoscaler hpa = one(HorizontalPodAutoscaler.class, "chat");
    assertThat(hpa.getSpec().getScaleTargetRef().getKind()).isEqualTo("Deployment");
    assertThat(hpa.getSpec().getScaleTargetRef().getName()).isEqualTo("chat");
    int replicas = chat.getSpec().getReplicas();
    assertThat(replicas).isEqualTo(3);
    assertThat(hpa.getSpec().getMinReplicas()).isGreaterThanOrEqualTo(replicas);
    assertThat(hpa.getSpec().getMaxReplicas()).isGreaterThan(hpa.getSpec().getMinReplicas());
    IntOrString maxUnavailable = pdb.getSpec().getMaxUnavailable();
    assertThat(maxUnavailable).as("PDB as maxUnavailable").isNotNull();
    assertThat(maxUnavailable.getIntVal())
        .as("pods a drain may take at once")
        .isBetween(1, replicas - 1);
  }

  @Test
  @DisplayName("only the chat pods may reach Redis, at the address CHAT_REDIS_URL names")
  void onlyChatReachesRedis() {
    StatefulSet redis = one(StatefulSet.class, "redis");
    Map<String, String> redisPods = redis.getSpec().getTemplate().getMetadata().getLabels();
    Map<String, String> chatPods = chat.getSpec().getTemplate().getMetadata().getLabels();
    Container redisContainer = container(redis.getSpec().getTemplate(), "redis");
    int redisPort = containerPort(redisContainer, "redis");

    NetworkPolicy policy = one(NetworkPolicy.class, "redis");
    assertThat(matches(policy.getSpec().getPodSelector(), redisPods)).isTrue();
    assertThat(matches(policy.getSpec().getPodSelector(), chatPods)).isFalse();
    assertThat(policy.getSpec().getPolicyTypes()).contains("Ingress");
    List<NetworkPolicyIngressRule> rules = policy.getSpec().getIngress();
    assertThat(rules)
        .isNotEmpty()
        .allSatisfy(
            rule -> {
              assertThat(rule.getFrom())
                  .isNotEmpty()
                  .allSatisfy(peer -> assertOnlyChatPods(peer, chatPods, redisPods));
              assertThat(rule.getPorts())
                  .isNotEmpty()
                  .allSatisfy(
                      p ->
                          assertThat(resolvePort(redisContainer, p.getPort()))
                              .isEqualTo(redisPort));
            });

    URI url = URI.create(chatConfig.redisUrl());
    Service service = one(Service.class, url.getHost());
    assertThat(service.getSpec().getClusterIP())
        .as("a stable address for reconnects")
        .isNotEqualTo("None");
    assertThat(redisPods).containsAllEntriesOf(service.getSpec().getSelector());
    ServicePort port =
        service.getSpec().getPorts().stream()
            .filter(p -> p.getPort() == (url.getPort() == -1 ? 6379 : url.getPort()))
            .findFirst()
            .orElseThrow(
                () ->
                    new AssertionError(
                        "Service " + url.getHost() + " has no port " + url.getPort()));
    assertThat(resolvePort(redisContainer, port.getTargetPort())).isEqualTo(redisPort);
    assertThat(redis.getSpec().getServiceName())
        .satisfies(
            name ->
                assertThat(one(Service.class, name).getSpec().getClusterIP())
                    .as("the StatefulSet's governing Service is headless")
                    .isEqualTo("None"));
  }

  @Test
  @DisplayName("Redis is one StatefulSet replica with its data on a persistent volume")
  void redisIsSingleAndPersistent() {
    StatefulSet redis = one(StatefulSet.class, "redis");
    assertThat(redis.getSpec().getReplicas()).isEqualTo(1);
    Container c = container(redis.getSpec().getTemplate(), "redis");
    assertThat(c.getArgs()).contains("--appendonly", "yes");
    String claim = redis.getSpec().getVolumeClaimTemplates().get(0).getMetadata().getName();
    assertThat(c.getVolumeMounts())
        .anyMatch(m -> m.getName().equals(claim) && m.getMountPath().equals("/data"));
    assertThat(c.getReadinessProbe()).isNotNull();
    assertThat(c.getLivenessProbe()).isNotNull();
  }

  @Test
  @DisplayName("every image is pinned to a version tag (no :latest, no bare name)")
  void imagesArePinned() {
    List<String> images =
        podTemplates().stream()
            .flatMap(t -> allContainers(t.getSpec()))
            .map(Container::getImage)
            .toList();
    assertThat(images).isNotEmpty().allSatisfy(KubernetesManifestsIT::assertPinned);
  }

  @Test
  @DisplayName(
      "every pod meets the restricted Pod Security Standard, with a read-only root file system")
  void podsAreRestricted() {
    Namespace ns = one(Namespace.class, NAMESPACE);
    assertThat(ns.getMetadata().getLabels())
        .containsEntry("pod-security.kubernetes.io/enforce", "restricted");
    for (PodTemplateSpec template : podTemplates()) {
      PodSpec pod = template.getSpec();
      PodSecurityContext podContext = pod.getSecurityContext();
      assertThat(podContext).isNotNull();
      assertThat(podContext.getSeccompProfile().getType()).isEqualTo("RuntimeDefault");
      assertThat(pod.getHostNetwork()).isNotEqualTo(true);
      assertThat(pod.getAutomountServiceAccountToken())
          .as("no API token in pods that never call the API")
          .isFalse();
      allContainers(pod)
          .forEach(
              c -> {
                SecurityContext sc = c.getSecurityContext();
                assertThat(sc).as("securityContext of %s", c.getName()).isNotNull();
                Boolean nonRoot =
                    sc.getRunAsNonRoot() != null
                        ? sc.getRunAsNonRoot()
                        : podContext.getRunAsNonRoot();
                Long user =
                    sc.getRunAsUser() != null ? sc.getRunAsUser() : podContext.getRunAsUser();
                assertThat(nonRoot).as("runAsNonRoot of %s", c.getName()).isTrue();
                assertThat(user).as("uid of %s", c.getName()).isNotNull().isNotZero();
                assertThat(sc.getAllowPrivilegeEscalation())
                    .as("allowPrivilegeEscalation of %s", c.getName())
                    .isFalse();
                assertThat(sc.getPrivileged()).isNotEqualTo(true);
                assertThat(sc.getCapabilities().getDrop())
                    .as("dropped capabilities of %s", c.getName())
                    .contains("ALL");
                assertThat(sc.getCapabilities().getAdd()).isNullOrEmpty();
                assertThat(sc.getReadOnlyRootFilesystem())
                    .as("read-only root of %s", c.getName())
                    .isTrue();
              });
    }
    // The JVM needs a writable /tmp.
    VolumeMount tmp =
        chatContainer.getVolumeMounts().stream()
            .filter(m -> m.getMountPath().equals("/tmp"))
            .findFirst()
            .orElseThrow();
    Volume volume =
        chat.getSpec().getTemplate().getSpec().getVolumes().stream()
            .filter(v -> v.getName().equals(tmp.getName()))
            .findFirst()
            .orElseThrow();
    assertThat(volume.getEmptyDir()).isNotNull();
    assertThat(tmp.getReadOnly()).isNotEqualTo(true);
  }

  @Test
  @DisplayName(
      "chat pods get no Service links, which would put CHAT_PORT=tcp://… in their environment")
  void noServiceLinks() {
    // Kubernetes injects <SERVICE>_PORT=tcp://ip:port for every Service in the namespace; with a
    // Service named "chat" that is CHAT_PORT, which the service would refuse to start with.
    assertThat(chat.getSpec().getTemplate().getSpec().getEnableServiceLinks()).isFalse();
  }

  @Test
  @DisplayName(
      "every container has CPU and memory requests and limits, and CHAT_INSTANCES fits the CPU limit")
  void resourcesAreBounded() {
    for (PodTemplateSpec template : podTemplates()) {
      allContainers(template.getSpec())
          .forEach(
              c -> {
                assertThat(c.getResources().getRequests())
                    .as("requests of %s", c.getName())
                    .containsKeys("cpu", "memory");
                assertThat(c.getResources().getLimits())
                    .as("limits of %s", c.getName())
                    .containsKeys("cpu", "memory");
                Map<String, Quantity> requests = c.getResources().getRequests();
                Map<String, Quantity> limits = c.getResources().getLimits();
                for (String r : List.of("cpu", "memory")) {
                  assertThat(Quantity.getAmountInBytes(requests.get(r)))
                      .as("%s request of %s within its limit", r, c.getName())
                      .isLessThanOrEqualTo(Quantity.getAmountInBytes(limits.get(r)));
                }
              });
    }
    double cpuLimit =
        Quantity.getAmountInBytes(chatContainer.getResources().getLimits().get("cpu"))
            .doubleValue();
    assertThat(chatConfig.instances())
        .as("event loops per pod")
        .isLessThanOrEqualTo((int) Math.ceil(cpuLimit));
  }

  // --- the overlays ----------------------------------------------------------------------------

  /**
   * One overlay in k8s-overlays/, rendered and read as strictly as the base: what it adds, drops
   * and changes, and that the pods still get a configuration the service accepts.
   */
  @TestInstance(TestInstance.Lifecycle.PER_CLASS)
  abstract class Overlay {

    private final String dir;
    List<HasMetadata> rendered;
    Map<String, String> env;
    Config config;

    Overlay(String dir) {
      this.dir = dir;
    }

    /** Objects of the base this overlay removes, as Kind/name. */
    abstract Set<String> dropped();

    /** Objects it adds, as Kind/name. */
    abstract Set<String> added();

    /** ConfigMap keys it sets or changes. */
    abstract Set<String> changedSettings();

    @BeforeAll
    void renderOverlay() {
      rendered = KubernetesManifests.parseAll(KubernetesManifests.render(Repo.path(dir)));
      Deployment deployment = one(rendered, Deployment.class, "chat");
      env = new LinkedHashMap<>();
      Container c = container(deployment.getSpec().getTemplate(), "chat");
      for (EnvFromSource source : c.getEnvFrom()) {
        if (source.getConfigMapRef() != null) {
          env.putAll(one(rendered, ConfigMap.class, source.getConfigMapRef().getName()).getData());
        }
      }
      Map<String, String> operator = new LinkedHashMap<>(env);
      operator.put("CHAT_JWT_SECRET", REAL_SECRET);
      operator.put("CHAT_NODE_ID", "chat-5d8f7c9b6d-x2x9q");
      config = ServiceEnvironment.config(operator);
    }

    @Test
    @DisplayName(
        "renders the base less what it drops plus what it adds, strictly read, in the chat namespace")
    void rendersTheBaseWithItsChanges() {
      Set<String> expected = new TreeSet<>(names(objects));
      assertThat(expected).containsAll(dropped());
      expected.removeAll(dropped());
      expected.addAll(added());
      assertThat(names(rendered)).containsExactlyInAnyOrderElementsOf(expected);
      rendered.stream()
          .filter(o -> !(o instanceof Namespace))
          .forEach(
              o ->
                  assertThat(o.getMetadata().getNamespace())
                      .as("namespace of %s", o.getMetadata().getName())
                      .isEqualTo(NAMESPACE));
    }

    @Test
    @DisplayName(
        "changes only its own settings; every one is a variable the service reads, and the whole a configuration it accepts")
    void settings() {
      Map<String, String> base = new LinkedHashMap<>();
      for (HasMetadata o : objects) {
        if (o instanceof ConfigMap m && m.getMetadata().getName().startsWith("chat-config-")) {
          base.putAll(m.getData());
        }
      }
      Set<String> changed = new TreeSet<>();
      env.forEach(
          (k, v) -> {
            if (!v.equals(base.get(k))) {
              changed.add(k);
            }
          });
      assertThat(changed).containsExactlyInAnyOrderElementsOf(changedSettings());
      assertThat(base.keySet()).allSatisfy(k -> assertThat(env).containsKey(k));
      assertThat(env.keySet()).allSatisfy(k -> assertThat(ServiceEnvironment.allowed(k)).isTrue());
      assertThat(config).isNotNull();
    }
  }

  /** An overlay whose Redis lives outside: the bundled one is gone and egress is fenced. */
  abstract class ExternalRedisOverlay extends Overlay {

    ExternalRedisOverlay(String dir) {
      super(dir);
    }

    /** TCP ports (or first-last ranges) the chat pods may reach Redis on, besides DNS. */
    abstract List<int[]> redisPorts();

    @Override
    Set<String> dropped() {
      return Set.of(
          "StatefulSet/redis", "Service/redis", "Service/redis-headless", "NetworkPolicy/redis");
    }

    @Override
    Set<String> added() {
      return Set.of("NetworkPolicy/chat-egress");
    }

    @Test
    @DisplayName(
        "NetworkPolicy chat-egress lets the chat pods reach DNS and the Redis ports only, every port CHAT_REDIS_URL names among them")
    void egressReachesRedisOnly() {
      Map<String, String> chatPods =
          one(rendered, Deployment.class, "chat").getSpec().getTemplate().getMetadata().getLabels();
      NetworkPolicy policy = one(rendered, NetworkPolicy.class, "chat-egress");
      assertThat(matches(policy.getSpec().getPodSelector(), chatPods)).isTrue();
      assertThat(policy.getSpec().getPolicyTypes()).containsExactly("Egress");
      List<int[]> tcp = new ArrayList<>();
      Set<String> dns = new TreeSet<>();
      for (NetworkPolicyEgressRule rule : policy.getSpec().getEgress()) {
        assertThat(rule.getPorts()).as("every egress rule names its ports").isNotEmpty();
        rule.getPorts()
            .forEach(
                p -> {
                  assertThat(p.getPort().getIntVal()).as("a port number").isNotNull();
                  int port = p.getPort().getIntVal();
                  if (port == 53) {
                    dns.add(p.getProtocol());
                    assertThat(p.getEndPort()).isNull();
                  } else {
                    assertThat(p.getProtocol()).isEqualTo("TCP");
                    tcp.add(new int[] {port, p.getEndPort() == null ? port : p.getEndPort()});
                  }
                });
      }
      assertThat(dns).containsExactlyInAnyOrder("UDP", "TCP");
      assertThat(tcp)
          .extracting(r -> r[0] + "-" + r[1])
          .containsExactlyInAnyOrderElementsOf(
              redisPorts().stream().map(r -> r[0] + "-" + r[1]).toList());
      for (String seed : config.redis().seeds()) {
        int port = URI.create(seed).getPort() == -1 ? 6379 : URI.create(seed).getPort();
        assertThat(tcp).as("egress to %s", seed).anyMatch(r -> r[0] <= port && port <= r[1]);
      }
    }

    @Test
    @DisplayName("no seed is the dropped bundled Redis, and no object still refers to it")
    void nothingReferencesTheBundledRedis() {
      assertThat(config.redis().seeds())
          .hasSizeGreaterThanOrEqualTo(2)
          .allSatisfy(
              seed -> assertThat(URI.create(seed).getHost()).isNotIn("redis", "redis-headless"));
      assertThat(rendered).noneMatch(o -> o.getMetadata().getName().startsWith("redis"));
    }
  }

  @Nested
  @DisplayName("k8s-overlays/cluster: an external or managed Redis Cluster")
  class ClusterOverlay extends ExternalRedisOverlay {

    ClusterOverlay() {
      super("k8s-overlays/cluster");
    }

    @Override
    Set<String> changedSettings() {
      return Set.of("CHAT_REDIS_MODE", "CHAT_REDIS_URL");
    }

    @Override
    List<int[]> redisPorts() {
      // a cluster's client port (own, ElastiCache, Memorystore's discovery endpoint); Memorystore
      // for Redis Cluster's node ports; Azure Managed Redis, with the OSS cluster policy's range
      return List.of(
          new int[] {6379, 6379},
          new int[] {11000, 13047},
          new int[] {10000, 10000},
          new int[] {8500, 8599});
    }

    @Test
    @DisplayName("the pods run CHAT_REDIS_MODE=cluster on a seed list, without replica acks")
    void clusterMode() {
      assertThat(config.redis().mode()).isEqualTo(RedisSettings.Mode.CLUSTER);
      assertThat(config.redis().replicasAck())
          .as("the service refuses CHAT_REDIS_REPLICAS_ACK in cluster mode")
          .isZero();
    }
  }

  @Nested
  @DisplayName("k8s-overlays/sentinel: an external or managed Redis Sentinel")
  class SentinelOverlay extends ExternalRedisOverlay {

    SentinelOverlay() {
      super("k8s-overlays/sentinel");
    }

    @Override
    Set<String> changedSettings() {
      return Set.of(
          "CHAT_REDIS_MODE",
          "CHAT_REDIS_URL",
          "CHAT_REDIS_SENTINEL_MASTER",
          "CHAT_REDIS_REPLICAS_ACK",
          "CHAT_REDIS_REPLICAS_ACK_TIMEOUT_MS");
    }

    @Override
    List<int[]> redisPorts() {
      // the sentinels, and the data nodes they name
      return List.of(new int[] {26379, 26379}, new int[] {6379, 6379});
    }

    @Test
    @DisplayName("the pods ask three sentinels for the master, and wait for a replica's ack")
    void sentinelMode() {
      assertThat(config.redis().mode()).isEqualTo(RedisSettings.Mode.SENTINEL);
      assertThat(config.redis().seeds()).hasSize(3);
      assertThat(config.redis().replicasAck()).isPositive();
    }
  }

  @Nested
  @DisplayName("k8s-overlays/gateway: a Gateway API HTTPRoute in place of the Ingresses")
  class GatewayOverlay extends Overlay {

    GatewayOverlay() {
      super("k8s-overlays/gateway");
    }

    @Override
    Set<String> dropped() {
      return Set.of("Ingress/chat", "Ingress/chat-metrics", "Ingress/chat-api");
    }

    @Override
    Set<String> added() {
      return Set.of("HTTPRoute/chat");
    }

    @Override
    Set<String> changedSettings() {
      return Set.of();
    }

    private HTTPRoute route() {
      return one(rendered, HTTPRoute.class, "chat");
    }

    private Optional<HTTPRouteRule> ruleFor(String type, String path) {
      return route().getSpec().getRules().stream()
          .filter(
              r ->
                  r.getMatches().stream()
                      .anyMatch(
                          m ->
                              m.getPath() != null
                                  && type.equals(m.getPath().getType())
                                  && path.equals(m.getPath().getValue())))
          .findFirst();
    }

    @Test
    @DisplayName("browsers may open sockets only from the route's host names, over https")
    void allowedOriginsAreTheRouteHosts() {
      assertThat(route().getSpec().getHostnames()).isNotEmpty();
      assertThat(config.allowedOrigins())
          .containsExactlyInAnyOrderElementsOf(
              route().getSpec().getHostnames().stream().map(h -> "https://" + h).toList());
      assertThat(route().getSpec().getParentRefs())
          .singleElement()
          .satisfies(p -> assertThat(p.getKind()).isEqualTo("Gateway"));
    }

    @Test
    @DisplayName(
        "/ws has no request timeouts (a socket lives for hours); every other forwarding rule has the Ingress' 120 s; every backend is the Service chat's public port")
    void timeoutsMatchTheIngress() {
      HTTPRouteRule ws =
          ruleFor("Exact", "/ws").orElseThrow(() -> new AssertionError("no /ws rule"));
      assertThat(GatewayApiSchema.duration(ws.getTimeouts().getRequest())).isZero();
      assertThat(GatewayApiSchema.duration(ws.getTimeouts().getBackendRequest())).isZero();
      Ingress ingress = one(Ingress.class, "chat");
      Duration ingressTimeout =
          Duration.ofSeconds(
              Long.parseLong(
                  ingress
                      .getMetadata()
                      .getAnnotations()
                      .get("nginx.ingress.kubernetes.io/proxy-read-timeout")));
      long floorMs = config.heartbeatTimeoutMs() + config.heartbeatIntervalMs();
      assertThat(ingressTimeout.toMillis()).isGreaterThanOrEqualTo(floorMs);
      Service service = one(rendered, Service.class, "chat");
      Container chatPod =
          container(one(rendered, Deployment.class, "chat").getSpec().getTemplate(), "chat");
      int routed = 0;
      for (HTTPRouteRule rule : route().getSpec().getRules()) {
        if (rule.getBackendRefs().isEmpty()) {
          continue;
        }
        routed++;
        for (HTTPBackendRef b : rule.getBackendRefs()) {
          assertThat(b.getKind()).isIn(null, "Service");
          assertThat(b.getName()).isEqualTo("chat");
          ServicePort port =
              service.getSpec().getPorts().stream()
                  .filter(p -> p.getPort().equals(b.getPort()))
                  .findFirst()
                  .orElseThrow(() -> new AssertionError("Service chat has no port " + b.getPort()));
          assertThat(resolvePort(chatPod, port.getTargetPort())).isEqualTo(config.port());
        }
        if (!rule.equals(ws)) {
          assertThat(rule.getTimeouts()).as("a forwarding rule's timeouts").isNotNull();
          assertThat(GatewayApiSchema.duration(rule.getTimeouts().getRequest()))
              .isEqualTo(ingressTimeout);
          assertThat(GatewayApiSchema.duration(rule.getTimeouts().getBackendRequest()))
              .isEqualTo(ingressTimeout);
        }
      }
      assertThat(routed).as("rules that forward: /ws and the rest").isEqualTo(2);
      assertThat(ruleFor("PathPrefix", "/")).isPresent();
    }

    @Test
    @DisplayName(
        "/metrics and /api are matched by a rule that forwards nothing, as the Ingresses refuse them")
    void metricsAndApiAreRefused() {
      for (String[] match :
          List.of(new String[] {"Exact", "/metrics"}, new String[] {"PathPrefix", "/api"})) {
        HTTPRouteRule rule =
            ruleFor(match[0], match[1])
                .orElseThrow(() -> new AssertionError("no rule for " + String.join(" ", match)));
        assertThat(rule.getBackendRefs()).as("%s forwards nothing", match[1]).isEmpty();
        assertThat(rule.getFilters()).as("and answers nothing of its own").isEmpty();
      }
      // The base's refusals are the same paths.
      assertThat(
              one(Ingress.class, "chat-metrics").getSpec().getRules().get(0).getHttp().getPaths())
          .extracting(p -> p.getPath())
          .containsExactly("/metrics");
      assertThat(one(Ingress.class, "chat-api").getSpec().getRules().get(0).getHttp().getPaths())
          .extracting(p -> p.getPath())
          .containsExactly("/api");
    }

    @Test
    @DisplayName("the route pins no session (no stickiness) and uses standard-channel fields only")
    void noStickinessStandardOnly() {
      for (HTTPRouteRule rule : route().getSpec().getRules()) {
        assertThat(rule.getSessionPersistence()).isNull();
        assertThat(rule.getRetry()).isNull();
      }
    }

    @Test
    @DisplayName(
        "the schema check rejects a misspelt field, an experimental field, a bad duration and a backend timeout above the request's")
    void schemaCheckCanFail() {
      String route =
          """
          apiVersion: gateway.networking.k8s.io/v1
          kind: HTTPRoute
          metadata: {name: x}
          spec:
            parentRefs: [{name: public}]
            rules:
              - backendRefs: [{name: chat, port: 80}]
                timeouts: {request: 10s, backendRequest: 5s}
          """;
      assertThat(KubernetesManifests.parseAll(route)).hasSize(1);
      assertThatThrownBy(
              () -> KubernetesManifests.parseAll(route.replace("backendRefs", "backendRef")))
          .hasMessageContaining("unknown field");
      assertThatThrownBy(
              () ->
                  KubernetesManifests.parseAll(
                      route.replace("timeouts:", "retry: {attempts: 2}\n      timeouts:")))
          .hasMessageContaining(".retry: unknown field");
      assertThatThrownBy(() -> KubernetesManifests.parseAll(route.replace("10s", "10 s")))
          .hasMessageContaining("does not match");
      assertThatThrownBy(() -> KubernetesManifests.parseAll(route.replace("5s", "20s")))
          .hasMessageContaining("backendRequest timeout cannot be longer");
      assertThatThrownBy(
              () -> KubernetesManifests.parseAll(route.replace("port: 80", "port: \"80\"")))
          .hasMessageContaining("where the schema wants integer");
      assertThatThrownBy(
              () ->
                  KubernetesManifests.parseAll(
                      route.replace("parentRefs: [{name: public}]", "parentRefs: [{}]")))
          .hasMessageContaining(".name: required");
    }
  }

  private static Set<String> names(List<HasMetadata> objects) {
    Set<String> names = new TreeSet<>();
    for (HasMetadata o : objects) {
      String name = o.getMetadata().getName();
      if (o instanceof ConfigMap && name.startsWith("chat-config-")) {
        name = "chat-config-<hash>";
      }
      names.add(o.getKind() + "/" + name);
    }
    return names;
  }

  private static <T extends HasMetadata> T one(
      List<HasMetadata> objects, Class<T> type, String name) {
    List<T> found =
        objects.stream()
            .filter(type::isInstance)
            .map(type::cast)
            .filter(o -> o.getMetadata().getName().equals(name))
            .toList();
    assertThat(found).as("%s %s in the rendered manifests", type.getSimpleName(), name).hasSize(1);
    return found.get(0);
  }

  // --- helpers ---------------------------------------------------------------------------------

  /** The pod's environment once deployed: the Secret holds a real key, the pod has a name. */
  private Map<String, String> operatorEnvironment() {
    Map<String, String> env = new LinkedHashMap<>(chatEnv);
    env.put("CHAT_JWT_SECRET", REAL_SECRET);
    env.put("CHAT_NODE_ID", "chat-5d8f7c9b6d-x2x9q");
    return env;
  }

  private <T extends HasMetadata> T one(Class<T> type, String name) {
    List<T> found =
        objects.stream()
            .filter(type::isInstance)
            .map(type::cast)
            .filter(o -> o.getMetadata().getName().equals(name))
            .toList();
    assertThat(found).as("%s %s in the rendered manifests", type.getSimpleName(), name).hasSize(1);
    return found.get(0);
  }

  private List<PodTemplateSpec> podTemplates() {
    List<PodTemplateSpec> templates = new ArrayList<>();
    for (HasMetadata o : objects) {
      if (o instanceof Deployment d) {
        templates.add(d.getSpec().getTemplate());
      } else if (o instanceof StatefulSet s) {
        templates.add(s.getSpec().getTemplate());
      }
    }
    return templates;
  }

  private static Stream<Container> allContainers(PodSpec pod) {
    return Stream.concat(pod.getInitContainers().stream(), pod.getContainers().stream());
  }

  private static Container container(PodTemplateSpec template, String name) {
    return template.getSpec().getContainers().stream()
        .filter(c -> c.getName().equals(name))
        .findFirst()
        .orElseThrow(() -> new AssertionError("no container " + name));
  }

  /** Names set on the container: env, and every key of the ConfigMaps and Secrets in envFrom. */
  private Set<String> environmentNames(Container c) {
    Set<String> names = new TreeSet<>();
    c.getEnv().forEach(e -> names.add(e.getName()));
    for (EnvFromSource source : c.getEnvFrom()) {
      assertThat(source.getPrefix()).as("envFrom prefix").isNull();
      names.addAll(envFromData(source).keySet());
    }
    return names;
  }

  /** The literal values the container's environment gets (ConfigMaps, Secrets, env values). */
  private Map<String, String> literalEnvironment(Container c) {
    Map<String, String> env = new LinkedHashMap<>();
    for (EnvFromSource source : c.getEnvFrom()) {
      env.putAll(envFromData(source));
    }
    c.getEnv().stream()
        .filter(e -> e.getValue() != null)
        .forEach(e -> env.put(e.getName(), e.getValue()));
    return env;
  }

  private Map<String, String> envFromData(EnvFromSource source) {
    if (source.getConfigMapRef() != null) {
      return one(ConfigMap.class, source.getConfigMapRef().getName()).getData();
    }
    if (source.getSecretRef() != null) {
      Secret secret = one(Secret.class, source.getSecretRef().getName());
      Map<String, String> data = new LinkedHashMap<>();
      if (secret.getData() != null) {
        secret
            .getData()
            .forEach(
                (k, v) ->
                    data.put(k, new String(Base64.getDecoder().decode(v), StandardCharsets.UTF_8)));
      }
      if (secret.getStringData() != null) {
        data.putAll(secret.getStringData());
      }
      return data;
    }
    throw new AssertionError("envFrom without a ConfigMap or Secret: " + source);
  }

  private static List<Probe> probes(Container c) {
    List<Probe> probes =
        Stream.of(c.getStartupProbe(), c.getReadinessProbe(), c.getLivenessProbe())
            .filter(Objects::nonNull)
            .toList();
    assertThat(probes).as("startup, readiness and liveness probes of %s", c.getName()).hasSize(3);
    return probes;
  }

  private static String probePath(Probe probe) {
    assertThat(probe).isNotNull();
    HTTPGetAction get = probe.getHttpGet();
    assertThat(get).as("an HTTP probe").isNotNull();
    return get.getPath();
  }

  private static int containerPort(Container c, String name) {
    return c.getPorts().stream()
        .filter(p -> name.equals(p.getName()))
        .map(ContainerPort::getContainerPort)
        .findFirst()
        .orElseThrow(() -> new AssertionError(c.getName() + " has no port named " + name));
  }

  /** A port given by number or by the container port's name, as the number. */
  private static int resolvePort(Container c, IntOrString port) {
    assertThat(port).isNotNull();
    return port.getIntVal() != null ? port.getIntVal() : containerPort(c, port.getStrVal());
  }

  private <T extends HasMetadata> List<T> all(Class<T> type) {
    return objects.stream().filter(type::isInstance).map(type::cast).toList();
  }

  private static boolean matchesLabels(Map<String, String> selector, Map<String, String> labels) {
    return selector != null && labels.entrySet().containsAll(selector.entrySet());
  }

  /** The status of GET /api/openapi.json with the operator's key on {@code port}. */
  private static int apiStatus(int port) throws Exception {
    return HttpClient.newHttpClient()
        .send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/api/openapi.json"))
                .header("Authorization", "Bearer " + API_KEY)
                .GET()
                .build(),
            HttpResponse.BodyHandlers.discarding())
        .statusCode();
  }

  private static boolean matches(LabelSelector selector, Map<String, String> labels) {
    assertThat(selector.getMatchExpressions())
        .as("selectors here use matchLabels only")
        .isNullOrEmpty();
    assertThat(selector.getMatchLabels()).isNotEmpty();
    return labels.entrySet().containsAll(selector.getMatchLabels().entrySet());
  }

  private static void assertOnlyChatPods(
      NetworkPolicyPeer peer, Map<String, String> chatPods, Map<String, String> redisPods) {
    assertThat(peer.getIpBlock()).as("no address ranges").isNull();
    assertThat(peer.getNamespaceSelector()).as("this namespace only").isNull();
    assertThat(peer.getPodSelector()).isNotNull();
    assertThat(matches(peer.getPodSelector(), chatPods)).isTrue();
    assertThat(matches(peer.getPodSelector(), redisPods)).isFalse();
  }

  static void assertPinned(String image) {
    if (image.contains("@sha256:")) {
      return;
    }
    String last = image.substring(image.lastIndexOf('/') + 1);
    assertThat(last).as("image %s has a tag", image).contains(":");
    String tag = last.substring(last.indexOf(':') + 1);
    assertThat(tag)
        .as("tag of %s", image)
        .isNotBlank()
        .isNotEqualTo("latest")
        .containsPattern("[0-9]");
  }
}
