@alerting
Feature: Alertmanager routing
  Every alert reaches the receiver the plan promises: GPU alerts go to the GPU team (and a
  critical one pages as well), critical alerts to the critical receiver, everything else
  to the default receiver, and the dead-man's switch to its own receiver.

  Our decisions (manifests/DIFFERENCES.md): the plan routes only GPUHighTemperature to the
  GPU team, and a critical GPU alert only to the critical receiver (D14); here every GPU
  alert reaches the GPU team, and a critical one pages as well. The watchdog receiver
  replaces the plan's PrometheusDown (D15).

  Background:
    Given the alerting stack is running

  @routing @sc4
  Scenario Outline: <alertname> with severity <severity> is routed to <receivers>
    Given an alert "<alertname>" with severity "<severity>"
    Then the routing tree sends it to <receivers>
    And Alertmanager delivers it to <receivers>

    Examples:
      | alertname          | severity | receivers                             |
      | GPUHighTemperature | warning  | "gpu-alerts"                          |
      | GPUMemoryFull      | warning  | "gpu-alerts"                          |
      | GPUPowerHigh       | warning  | "gpu-alerts"                          |
      | GPUHighTemperature | critical | "gpu-alerts" and "critical-receiver"  |
      | DiskSpaceLow       | critical | "critical-receiver"                   |
      | HighCPUUsage       | warning  | "default-receiver"                    |
      | HighMemoryUsage    | warning  | "default-receiver"                    |
      | ExporterDown       | warning  | "default-receiver"                    |
      | Watchdog           | none     | "watchdog"                            |

  @routing @sc4
  Scenario: A critical alert silences the warnings of the same machine
    Given a critical alert "DiskSpaceLow" is firing for a machine
    When a warning alert "HighMemoryUsage" fires for the same machine
    Then Alertmanager marks the warning as inhibited by the critical alert
    And no receiver is told about the warning, with a group wait of 10 seconds

  @routing @sc4
  Scenario: The dead-man's switch keeps reporting that alerting works
    Then receiver "watchdog" keeps hearing "Watchdog" every 1 minute, give or take the group interval of 10 seconds

  @local_only @routing @sc4
  Scenario: Alertmanager keeps its silences and what it has sent across a restart
    Given an alert "PersistenceProbe" with severity "warning"
    And Alertmanager has delivered it to "default-receiver" and holds a silence
    When Alertmanager is replaced by a new pod
    Then the silence is still in force
    And the alert, sent again, is not delivered again within its group wait of 10 seconds and group interval of 10 seconds
