package dev.chat.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/** The machine a run happened on, for the report's setup section. */
final class Env {
  private Env() {}

  static Map<String, Object> describe(boolean epoll) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("cpuModel", cpuModel());
    // The machine's cores, not this process's: the generator runs pinned to one of them.
    m.put("cores", machineCores());
    m.put("kernel", read("/proc/sys/kernel/osrelease"));
    m.put(
        "jdk",
        System.getProperty("java.vm.name") + " " + System.getProperty("java.runtime.version"));
    m.put("transport", epoll ? "epoll" : "nio");
    return m;
  }

  static int machineCores() {
    try {
      return (int)
          Files.readAllLines(Path.of("/proc/cpuinfo")).stream()
              .filter(l -> l.startsWith("processor"))
              .count();
    } catch (IOException e) {
      return Runtime.getRuntime().availableProcessors();
    }
  }

  static String cpuModel() {
    try {
      for (String l : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
        if (l.startsWith("model name")) return l.substring(l.indexOf(':') + 1).trim();
      }
    } catch (IOException e) {
      return "unknown";
    }
    return "unknown";
  }

  private static String read(String p) {
    try {
      return Files.readString(Path.of(p)).trim();
    } catch (IOException e) {
      return "unknown";
    }
  }
}
