@scale @kubernetes
Feature: One Promtail per node at the scale of the ODIN cluster
  The per-node criterion must hold, and its check must stay one answer, on a cluster
  of thousands of nodes: a Promtail on every node, the control plane included.

  @per_node @sc1
  Scenario: Every one of 5,000 nodes runs one ready Promtail
    Given the logging stack is running
    When the cluster grows to 5,000 nodes
    Then every node runs exactly one ready Promtail, the control plane included
