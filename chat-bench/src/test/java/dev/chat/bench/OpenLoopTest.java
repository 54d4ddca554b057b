package dev.chat.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class OpenLoopTest {
  @Test
  @DisplayName("message k is due at start + k / rate, whatever the sink does")
  void dueTimes() {
    OpenLoop s = new OpenLoop(1_000, 200, 2.5);
    assertThat(s.count()).isEqualTo(500);
    assertThat(s.intendedNanos(0)).isEqualTo(1_000);
    assertThat(s.intendedNanos(1)).isEqualTo(1_000 + 5_000_000);
    assertThat(s.intendedNanos(200)).isEqualTo(1_000 + 1_000_000_000);
    assertThat(s.endNanos()).isEqualTo(1_000 + 2_500_000_000L);
  }

  @Test
  @DisplayName(
      "a sink that falls behind gets the late messages at once, each still stamped with its own due time")
  void overdueMessagesKeepTheirIntendedTime() {
    long start = System.nanoTime() - 1_000_000_000L; // the whole schedule is already overdue
    OpenLoop s = new OpenLoop(start, 1000, 0.5);
    List<long[]> got = new ArrayList<>();
    long handed = s.run((k, t) -> got.add(new long[] {k, t}), () -> false);
    assertThat(handed).isEqualTo(500);
    for (long[] g : got) assertThat(g[1]).isEqualTo(s.intendedNanos(g[0]));
    assertThat(got.get(499)[1] - got.get(0)[1]).isEqualTo(s.intendedNanos(499) - start);
  }

  @Test
  @DisplayName("no message is handed over before it is due")
  void neverEarly() {
    OpenLoop s = new OpenLoop(System.nanoTime() + 20_000_000, 500, 0.1);
    List<Long> lateness = new ArrayList<>();
    s.run((k, t) -> lateness.add(System.nanoTime() - t), () -> false);
    assertThat(lateness)
        .hasSize(50)
        .allSatisfy(l -> assertThat(l).isGreaterThanOrEqualTo(-50_000L));
  }

  @Test
  @DisplayName("the stop condition ends a schedule early")
  void stops() {
    OpenLoop s = new OpenLoop(System.nanoTime() - 1_000_000_000L, 100, 10);
    int[] n = {0};
    long handed = s.run((k, t) -> n[0]++, () -> n[0] >= 7);
    assertThat(handed).isEqualTo(7);
  }

  @Test
  @DisplayName("a schedule needs a positive rate and duration")
  void rejectsNonsense() {
    assertThatThrownBy(() -> new OpenLoop(0, 0, 1)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new OpenLoop(0, 5, 0)).isInstanceOf(IllegalArgumentException.class);
  }
}
