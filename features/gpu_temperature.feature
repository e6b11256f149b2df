@alerting
Feature: GPU temperature alerting
  The GPU team hears about a GPU that runs hot for longer than the plan tolerates, and
  only then. Plan: GPUHighTemperature above 80 °C held for 2 minutes, severity warning,
  receiver "gpu-alerts"; Alertmanager waits 10 seconds before a group's first notification
  and 10 seconds between its updates.

  Background:
    Given the alerting stack is running
    And a GPU node with 2 GPUs at 45 °C

  @gpu @sc3 @sc5
  Scenario: A GPU held at 85 °C alerts the GPU team, and cooling down resolves it
    When GPU 1 reports 85 °C
    Then "GPUHighTemperature" fires for GPU 1 once the condition has held for 2 minutes
    And receiver "gpu-alerts" is notified, with a group wait of 10 seconds
    And the notification has severity "warning" and names the GPU's host, index, UUID and model
    When GPU 1 reports 60 °C
    Then receiver "gpu-alerts" is told it is resolved, with a group interval of 10 seconds

  @gpu @sc3 @sc5
  Scenario: A GPU at exactly 80 °C does not alert
    When GPU 0 reports 80 °C
    Then "GPUHighTemperature" does not fire for GPU 0 while it holds for 2 minutes

  @gpu @sc3 @sc5
  Scenario: A spike shorter than the hold does not alert
    When GPU 0 reports 85 °C for 1 minute and then 45 °C
    Then "GPUHighTemperature" does not fire for GPU 0 while it holds for 2 minutes

  @gpu @sc3 @sc5
  Scenario Outline: <alert> fires on its condition and reaches the GPU team
    When GPU 0 reports <condition>
    Then "<alert>" fires for GPU 0 once the condition has held for 5 minutes
    And receiver "gpu-alerts" is notified, with a group wait of 10 seconds

    Examples:
      | alert         | condition                                |
      | GPUMemoryFull | 78000 MiB of 81559 MiB framebuffer used  |
      | GPUPowerHigh  | 720 W against a 700 W power limit        |
