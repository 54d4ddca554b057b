package dev.chat.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import jdk.jfr.Recording;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A real JFR recording of a thread spinning in a known method, read back within windows. */
class ProfileWindowTest {

  @TempDir static Path dir;
  static Path file;
  static long spinFrom;
  static long spinTo;

  @BeforeAll
  static void record() throws Exception {
    file = dir.resolve("spin.jfr");
    try (Recording r = new Recording()) {
      r.enable("jdk.ExecutionSample").withPeriod(Duration.ofMillis(1));
      r.start();
      Thread t =
          Thread.ofPlatform()
              .name("vert.x-eventloop-thread-7")
              .start(
                  () -> {
                    spinFrom = System.currentTimeMillis();
                    spinForProfileWindowTest(600);
                    spinTo = System.currentTimeMillis();
                  });
      t.join();
      r.stop();
      r.dump(file);
    }
  }

  static volatile long sink;

  static void spinForProfileWindowTest(long ms) {
    long end = System.nanoTime() + ms * 1_000_000;
    long x = 1;
    while (System.nanoTime() < end) {
      for (int i = 0; i < 1000; i++) {
        x = x * 6364136223846793005L + 1442695040888963407L;
      }
    }
    sink = x;
  }

  @Test
  void theSpinningMethodLeadsTheWindowAndCountsAsAnEventLoop() throws Exception {
    ProfileWindow.Summary s = ProfileWindow.read(file, spinFrom, spinTo);
    // JFR samples a running Java thread every millisecond (at most): far more than 50 in 600 ms.
    assertThat(s.samples()).isGreaterThan(50);
    String spin = ProfileWindowTest.class.getName() + ".spinForProfileWindowTest";
    assertThat(s.inclusive().get(spin)).isGreaterThan(s.samples() / 2);
    assertThat(s.threads().get("event loops")).isGreaterThan(s.samples() / 2);
    // The spin makes no system call: its package's samples are all outside them.
    assertThat(s.packagesOutsideSyscalls().get("dev.chat.")).isGreaterThan(s.samples() / 2);
    assertThat(s.kinds().get("system calls (all)")).isLessThan(s.samples() / 2);
    assertThat(s.perSecond().values().stream().mapToLong(Long::longValue).sum())
        .isGreaterThanOrEqualTo(s.samples());
  }

  @Test
  void aWindowBeforeTheRecordingHasNoSamples() throws Exception {
    ProfileWindow.Summary s = ProfileWindow.read(file, 0, spinFrom - 60_000);
    assertThat(s.samples()).isZero();
    assertThat(s.inclusive()).isEmpty();
  }

  @Test
  void theCommandPrintsTheSections() throws Exception {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    ProfileWindow.print(
        ProfileWindow.read(file, spinFrom, spinTo),
        5,
        new PrintStream(bytes, true, StandardCharsets.UTF_8));
    String out = bytes.toString(StandardCharsets.UTF_8);
    assertThat(out)
        .contains("== by thread", "event loops", "== by kind of work", "system calls (all)")
        .contains("spinForProfileWindowTest");
    assertThat(Files.size(file)).isPositive();
  }

  @Test
  void anUnfinishedRecordingIsAnErrorNotAnEmptySummary() throws Exception {
    // What a JVM killed while recording leaves: the head of a file and no metadata.
    Path cut = dir.resolve("cut.jfr");
    byte[] whole = Files.readAllBytes(file);
    Files.write(cut, java.util.Arrays.copyOf(whole, Math.min(whole.length, 200)));
    assertThat(
            ProfileWindow.run(
                new Options(new String[] {"profile-window", "--file", cut.toString()})))
        .isEqualTo(1);
    assertThat(
            ProfileWindow.run(
                new Options(new String[] {"profile-window", "--file", file.toString()})))
        .isZero();
  }
}
