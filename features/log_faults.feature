@fault @local_only
Feature: Log and alert delivery through component failures
  What happens to lines and alerts when a component goes away: restarts within Promtail's
  retry budget lose nothing, and a loss beyond it is counted exactly (the checker can see
  loss). A scaled profile shortens the retry budget with every other duration.

  Promtail's retry budget is the sum of its backoff waits, each drawn at random within a
  doubling range (dskit's jitter): with Promtail's defaults 255.5-511 s. "Longer than the
  retry budget" means longer than the longest budget, every wait at the top of its range.

  Duplicates are judged by Promtail's own counters, not in Loki: Loki drops a re-sent line
  identical to one it holds, so a Promtail that re-sends a whole file leaves no trace there.

  Background:
    Given the logging stack is running

  @loki @sc6
  Scenario: Loki restarted mid-stream loses no line
    When a workload writes 20 lines per second for 30 seconds
    And Loki is down for 3 seconds while it writes
    Then every line it wrote is in Loki, none missing

  @loki @sc6
  Scenario: Promtail restarted mid-stream resumes from its positions
    When a workload writes 20 lines per second for 30 seconds
    And Promtail is restarted once it has read 15 seconds of its lines
    Then every line it wrote is in Loki, none missing
    And Promtail reads at most 10 seconds of its lines a second time, by its own count

  @loki @sc6
  Scenario: Loki down longer than the retry budget: the loss is counted exactly
    When a workload writes 20 lines per second for 60 seconds
    And Loki is down for longer than Promtail's retry budget while it writes
    Then the checker finds lines missing, every one written while Loki was down
    And Promtail's count of dropped lines covers them

  @sc4
  Scenario: Alertmanager restarted while an alert fires still delivers it
    Given the alerting stack is running
    And a GPU node with 2 GPUs at 45 °C
    When GPU 0 reports 85 °C
    And Alertmanager is down until "GPUHighTemperature" fires
    Then receiver "gpu-alerts" hears of "GPUHighTemperature" for GPU 0 within the resend delay of 1 minute and the group wait of 10 seconds after Alertmanager is back
