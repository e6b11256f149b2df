@kubernetes @containers @alerting @sc3 @slow
Feature: CPU stress alerting
  Plan: HighCPUUsage when a node's CPUs are more than 80 % busy, averaged over a 5-minute
  rate window, for 5 minutes; severity warning; the default receiver. Fully loading every
  core crosses 80 % after 4 minutes of the window, so it fires after 9 minutes (the plan's
  300-second stress test could never fire it).

  Background:
    Given the alerting stack is running

  Scenario: A node kept fully busy raises HighCPUUsage to the default receiver
    When every core of a worker node is kept busy for 12 minutes
    Then "HighCPUUsage" fires for that node once 9 minutes of full load have passed
    And receiver "default-receiver" is told about "HighCPUUsage" for that node, with a group wait of 10 seconds
