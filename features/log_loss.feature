@soak @loki @sc6
Feature: No log line lost
  No log data loss over 24 hours (plan success criterion 6). Every sequence-numbered line
  the workloads write during the soak is accounted for: received, missing, duplicated or
  out of order; stragglers are asked for again before they count as missing; the first
  lines are checked again after Loki flushed them to storage. Run it for as long as the
  criterion needs: --soak-duration 24h (nightly), 120s in CI.

  Background:
    Given the logging stack is running

  Scenario: Every line written during the soak is in Loki
    When 3 workloads each write 20 lines per second for the soak duration
    Then every line written is in Loki: none missing and none duplicated
    And the first 100 lines of each workload are still in Loki after it flushed them to storage
    And neither Promtail nor Loki dropped or discarded a line
