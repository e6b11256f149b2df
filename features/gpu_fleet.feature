@scale @kubernetes @alerting
Feature: GPU alerting at the scale of the ODIN cluster
  ODIN is a cluster of GPU nodes: an alert proven on one node says little about the cluster.
  Here a thousand GPU nodes with eight GPUs each run one dcgm-exporter pod apiece (a
  DaemonSet on the nodes GPU feature discovery labels), which Prometheus finds through the
  Kubernetes API, and the plan's numbers hold as on one node: GPUHighTemperature above
  80 °C held for 2 minutes, receiver "gpu-alerts", a group wait and a group interval of
  10 seconds, alerts grouped by alertname, cluster and service.

  Background:
    Given the alerting stack is running
    And a fleet of 1,000 GPU nodes with 8 GPUs each at 45 °C, found through pod discovery
    And the alerting stack watches the fleet

  @gpu @sc3 @sc4 @sc5
  Scenario: One hot GPU among 8,000 fires on time and reaches the GPU team once
    Given GPU node 500 of the fleet
    When GPU 5 reports 85 °C
    Then "GPUHighTemperature" fires for GPU 5 once the condition has held for 2 minutes
    And receiver "gpu-alerts" is notified, with a group wait of 10 seconds
    And the notification has severity "warning" and names the GPU's host, index, UUID and model
    And it is the only GPU alert of the fleet's 8,000 GPUs, and receiver "gpu-alerts" is told of it once in the next 10 seconds

  @gpu @sc4 @sc5
  Scenario: Fifty GPUs crossing at once reach the GPU team as one group
    When GPU 3 of 50 nodes reports 85 °C at once
    Then receiver "gpu-alerts" gets all their "GPUHighTemperature" alerts in one group, the last notification naming every GPU, once the condition has held for 2 minutes with a group wait of 10 seconds and a group interval of 10 seconds
