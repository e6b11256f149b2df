@kubernetes
Feature: One Promtail per node
  Logs from all pods need a Promtail on every node that runs pods, the control plane
  included (kind and kubeadm taint it; the plan's DaemonSet had no toleration).

  Background:
    Given the logging stack is running

  @per_node @sc1
  Scenario: Every node runs one ready Promtail
    Then every node runs exactly one ready Promtail, the control plane included

  @containers @loki @per_node @sc1
  Scenario: Every node ships its pods' logs
    Then every node has a log stream in Loki within 60 seconds
