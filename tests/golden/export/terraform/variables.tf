# durableai: the variables, written by `berth export terraform` from berth.yaml.
# environments/<env>.tfvars sets them for each environment, except vpc_id and subnet_ids.

variable "project" {
  description = "The stack's project"
  type        = string
  default     = "durableai"
}

variable "environment" {
  description = "The environment: dev, prod, ..."
  type        = string
}

variable "region" {
  description = "The AWS region"
  type        = string
}

variable "cluster_name" {
  description = "The ECS cluster's name"
  type        = string
}

variable "namespace" {
  description = "The Cloud Map private DNS namespace (dev.local)"
  type        = string
}

variable "container_insights" {
  description = "CloudWatch Container Insights on the cluster"
  type        = bool
}

variable "log_retention_days" {
  description = "How long the services' logs are kept"
  type        = number
}

variable "tags" {
  description = "Tags of the ECS services and their tasks (\"$${account}\" is the account id)"
  type        = map(string)
}

variable "vpc_id" {
  description = "The VPC the tasks run in (not made by this module)"
  type        = string
}

variable "subnet_ids" {
  description = "The subnets of the tasks, private ones with a route to ECR, CloudWatch and SSM"
  type        = list(string)
}

variable "parameters" {
  description = "SSM parameters by name (\"$${account}\" in a value is the account id)"
  type        = map(object({
    type        = string
    value       = string
    description = string
  }))
  sensitive = true
}

variable "backend" {
  description = "The backend service in this environment (autoscaling null: a fixed count; \"$${account}\" in the image or environment is the account id)"
  type        = object({
    image             = string
    cpu               = number
    memory            = number
    desired_count     = number
    capacity_provider = string
    environment       = map(string)
    autoscaling       = object({
      cpu_target         = number
      memory_target      = number
      min                = number
      max                = number
      scale_out_cooldown = number
      scale_in_cooldown  = number
    })
  })

  validation {
    condition     = contains(["FARGATE", "FARGATE_SPOT"], var.backend.capacity_provider)
    error_message = "capacity_provider is FARGATE or FARGATE_SPOT."
  }
}

variable "frontend" {
  description = "The frontend service in this environment (autoscaling null: a fixed count; \"$${account}\" in the image or environment is the account id)"
  type        = object({
    image             = string
    cpu               = number
    memory            = number
    desired_count     = number
    capacity_provider = string
    environment       = map(string)
    autoscaling       = object({
      cpu_target         = number
      memory_target      = number
      min                = number
      max                = number
      scale_out_cooldown = number
      scale_in_cooldown  = number
    })
  })

  validation {
    condition     = contains(["FARGATE", "FARGATE_SPOT"], var.frontend.capacity_provider)
    error_message = "capacity_provider is FARGATE or FARGATE_SPOT."
  }
}
