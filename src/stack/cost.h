// `berth cost`: what a stack would cost per month on AWS, from a dated price
// table kept here, broken down like the seed's "Cost Breakdown", with the
// arithmetic of every line. The seed's own figures (which do not follow
// from AWS's prices) are kept beside it for comparison (docs/cost.md).
#pragma once

#include <string>
#include <vector>

#include "stack/model.h"

namespace berth::stack {

// AWS list prices, us-east-1, Linux/x86, as published on the AWS pricing
// pages for Fargate, CloudWatch Logs and CloudWatch metrics (checked for
// the date below). Fargate Spot has no fixed price: AWS quotes "up to 70 %"
// off, which the seed also uses; it is a parameter.
struct PriceTable {
  std::string as_of = "2025-06 (us-east-1, Linux/x86)";
  double vcpu_hour = 0.04048;           // Fargate, per vCPU-hour
  double gb_hour = 0.004445;            // Fargate, per GB-hour of memory
  double spot_discount = 0.70;          // Fargate Spot: this much off (AWS: "up to 70 %")
  double logs_ingest_gb = 0.50;         // CloudWatch Logs ingestion, per GB
  double logs_storage_gb_month = 0.03;  // CloudWatch Logs storage, per GB-month
  double metric_month = 0.30;           // a custom metric (Container Insights), per month
  double hours_per_month = 730;         // AWS's pricing month
};

// What a stack is assumed to do beyond its declaration.
struct UsageAssumptions {
  double log_gb_per_task_month = 0.5;  // log volume each running task writes
};

struct CostLine {
  std::string item;        // "Fargate Spot: backend (1 x 0.25 vCPU, 0.5 GB)"
  double monthly = 0;      // USD
  std::string arithmetic;  // how `monthly` follows from the table
};

struct CostEstimate {
  std::vector<CostLine> lines;
  double total = 0;
  // With every autoscaled service at its maximum (equal to total without
  // autoscaling).
  double total_at_max = 0;
};

CostEstimate estimateCost(const Environment& env, const PriceTable& prices = {}, const UsageAssumptions& usage = {});

// The seed's own "Cost Breakdown" for an environment ("dev", "prod"), as
// written there; empty for others.
std::vector<CostLine> seedCostBreakdown(std::string_view env);

// The report `berth cost` prints: berth's lines, total, the seed's figures
// beside them and why they differ.
std::string renderCost(const Environment& env, const CostEstimate& estimate, const PriceTable& prices,
                       const UsageAssumptions& usage);

// `berth cost --metered`: what the tasks that did run would have cost on
// Fargate. Task-minutes are measured elsewhere (from CloudWatch, the CLI);
// this is the arithmetic. Each service is priced at its size and capacity
// provider as the environment declares them now.
struct MeteredService {
  std::string service;      // the stack's name ("backend")
  double task_minutes = 0;  // task-minutes recorded over the period
};

struct MeteredLine {
  std::string service;
  std::string capacity_provider;
  double vcpu = 0, gb = 0;
  double task_hours = 0;
  double hourly = 0;  // USD per task-hour, Spot discount applied
  double cost = 0;    // USD: task_hours x hourly
};

struct MeteredCost {
  std::vector<MeteredLine> lines;  // in the environment's order
  double task_hours = 0;
  double total = 0;
};

// One line per service of `env`; a service missing from `measured` ran no
// task-minutes. Measurements of services `env` does not declare are ignored.
MeteredCost meteredCost(const Environment& env, const std::vector<MeteredService>& measured,
                        const PriceTable& prices = {});

// The report: `period` says what was measured ("2026-12-01T00:00Z to
// 2026-12-08T00:00Z (7 days)").
std::string renderMeteredCost(const Environment& env, const MeteredCost& cost, const PriceTable& prices,
                              std::string_view period);

}  // namespace berth::stack
