@offline
Feature: Alert rule validation
  The rules and the routing configuration are accepted by their own tools, and every alert
  of the plan fires at its threshold once its hold has passed: not a moment before, and
  never at the threshold itself. These checks use the real durations (promtool's rule unit
  tests run on simulated time), whatever the timing profile of the run.

  Our decisions, where the plan gives no number or a wrong one (manifests/DIFFERENCES.md):
  GPUPowerHigh fires above 100 % of the board's power limit, not above the plan's 350 W
  (D11); Prometheus scrapes every 15 seconds; the watchdog repeats every minute; Loki's
  rule group runs every minute and PodErrorBurst holds for 1 minute.

  Background:
    Given the configuration of the stack from the manifests
    And the plan evaluates every rule group every 30 seconds

  @rules @sc3
  Scenario: The stack's intervals and waits are the plan's
    Then the configuration has these durations:
      | setting                                      | duration | from                      |
      | every Prometheus rule group's interval       | 30s      | the plan                  |
      | Prometheus's scrape interval, every job      | 15s      | our decision (not in plan) |
      | Alertmanager's group wait, every route       | 10s      | the plan                  |
      | Alertmanager's group interval, every route   | 10s      | the plan                  |
      | Alertmanager's repeat interval               | 12h      | the plan                  |
      | Alertmanager's repeat interval, watchdog     | 1m       | our decision (not in plan) |
      | Alertmanager's resolve timeout               | 5m       | the plan                  |
      | every Loki rule group's interval             | 1m       | our decision (not in plan) |
      | every Loki alert's hold                      | 1m       | our decision (not in plan) |

  @rules @sc3
  Scenario: The configs are accepted by their own tools
    Then promtool accepts the alert rules and the Prometheus configuration
    And amtool accepts the Alertmanager configuration

  @loki_programs @rules @sc3
  Scenario: The log pipeline's configs are accepted by their own programs
    Then Loki accepts its configuration
    And Promtail accepts its configuration

  @routing @sc4 @rules @sc3
  Scenario: The plan's receivers and grouping
    Then Alertmanager groups alerts by "alertname", "cluster" and "service"
    And Alertmanager has these receivers, each told when an alert resolves:
      | receiver          | webhook path | from                       |
      | default-receiver  | /            | the plan                   |
      | critical-receiver | /critical    | the plan                   |
      | gpu-alerts        | /gpu         | the plan                   |
      | watchdog          | /watchdog    | our decision (not in plan) |

  @rules @sc3
  Scenario Outline: <alert> fires when <signal> is <comparison> <threshold> for <hold>
    Given the plan's rule "<alert>": <signal> <comparison> <threshold> for <hold>, severity "<severity>"
    When promtool runs the rule unit tests for it with the signal at <alerting>
    Then it is pending as soon as the signal is past the threshold
    And it is not firing a moment before <hold> has passed
    And it fires with severity "<severity>" once <hold> has passed
    And it never fires with the signal exactly at the threshold

    Examples:
      | alert              | signal                           | comparison | threshold | alerting | hold      | severity |
      | GPUHighTemperature | GPU temperature in °C            | above      | 80        | 81       | 2 minutes | warning  |
      | GPUMemoryFull      | GPU memory used in %             | above      | 95        | 96       | 5 minutes | warning  |
      | GPUPowerHigh       | GPU power in % of its limit      | above      | 100       | 101      | 5 minutes | warning  |
      | HighMemoryUsage    | memory used in %                 | above      | 85        | 86       | 5 minutes | warning  |
      | DiskSpaceLow       | root disk space free in %        | below      | 15        | 14       | 5 minutes | critical |
      | ExporterDown       | a scrape target's up value       | below      | 1         | 0        | 5 minutes | warning  |

  @rules @sc3
  Scenario: HighCPUUsage needs the rate window filled as well as its hold
    Given the plan's rule "HighCPUUsage": CPU busy in % over 5 minutes above 80 for 5 minutes, severity "warning"
    When promtool runs the rule unit tests for it with an idle machine going to full load on every core
    Then it is not firing a moment before 9 minutes of full load
    And it fires with severity "warning" once 9 minutes of full load have passed

  @rules @sc3
  Scenario: The watchdog fires from the first evaluation on
    Given the plan's rule "Watchdog": always firing, severity "none"
    When promtool runs the rule unit tests for it
    Then it fires with severity "none" from the first evaluation on
