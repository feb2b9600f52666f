# durableai: the module, written by `berth export terraform` from berth.yaml.
# One module for every environment: terraform plan -var-file=environments/<env>.tfvars

terraform {
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.0"
    }
  }
}

provider "aws" {
  region = var.region
}

data "aws_caller_identity" "current" {}

locals {
  # Tags of the ECS services, propagated to the tasks they start.
  tags = { for k, v in var.tags : k => replace(v, "$${account}", data.aws_caller_identity.current.account_id) }
}

resource "aws_ecr_repository" "durableai_backend" {
  name = "durableai/backend"
}

resource "aws_ecr_repository" "durableai_frontend" {
  name = "durableai/frontend"
}

resource "aws_iam_role" "execution" {
  name               = "${var.project}-${var.environment}-execution"
  assume_role_policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [
      {
        Effect    = "Allow"
        Principal = {
          Service = "ecs-tasks.amazonaws.com"
        }
        Action = "sts:AssumeRole"
      },
    ]
  })
}

resource "aws_iam_role_policy_attachment" "execution" {
  role       = aws_iam_role.execution.name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
}

resource "aws_ssm_parameter" "parameters" {
  for_each    = nonsensitive(toset(keys(var.parameters)))
  name        = each.key
  type        = var.parameters[each.key].type
  value       = replace(var.parameters[each.key].value, "$${account}", data.aws_caller_identity.current.account_id)
  description = var.parameters[each.key].description
}

resource "aws_ecs_cluster" "main" {
  name = var.cluster_name

  setting {
    name  = "containerInsights"
    value = var.container_insights ? "enabled" : "disabled"
  }
}

resource "aws_ecs_cluster_capacity_providers" "main" {
  cluster_name       = aws_ecs_cluster.main.name
  capacity_providers = ["FARGATE", "FARGATE_SPOT"]
}

resource "aws_security_group" "tasks" {
  name        = "${var.project}-${var.environment}-tasks"
  description = "The tasks of ${var.project}-${var.environment}"
  vpc_id      = var.vpc_id
}

resource "aws_vpc_security_group_ingress_rule" "backend" {
  security_group_id            = aws_security_group.tasks.id
  referenced_security_group_id = aws_security_group.tasks.id
  ip_protocol                  = "tcp"
  from_port                    = 8000
  to_port                      = 8000
  description                  = "backend from the other tasks"
}

resource "aws_vpc_security_group_ingress_rule" "frontend" {
  security_group_id            = aws_security_group.tasks.id
  referenced_security_group_id = aws_security_group.tasks.id
  ip_protocol                  = "tcp"
  from_port                    = 3000
  to_port                      = 3000
  description                  = "frontend from the other tasks"
}

resource "aws_vpc_security_group_egress_rule" "all" {
  security_group_id = aws_security_group.tasks.id
  ip_protocol       = "-1"
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_service_discovery_private_dns_namespace" "main" {
  name = var.namespace
  vpc  = var.vpc_id
}

resource "aws_cloudwatch_log_group" "backend" {
  name              = "/ecs/${var.project}-${var.environment}/backend"
  retention_in_days = var.log_retention_days
}

resource "aws_iam_role" "backend_task" {
  name               = "${var.project}-${var.environment}-backend-task"
  assume_role_policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [
      {
        Effect    = "Allow"
        Principal = {
          Service = "ecs-tasks.amazonaws.com"
        }
        Action = "sts:AssumeRole"
      },
    ]
  })
}

resource "aws_iam_role_policy" "backend_task" {
  name   = "backend"
  role   = aws_iam_role.backend_task.id
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [
      {
        Effect   = "Allow"
        Action   = ["ssm:GetParameter"]
        Resource = [
          "arn:aws:ssm:${var.region}:${data.aws_caller_identity.current.account_id}:parameter/durableai/${var.environment}/greeting",
        ]
      },
    ]
  })
}

resource "aws_ecs_task_definition" "backend" {
  family                   = "${var.project}-${var.environment}-backend"
  cpu                      = var.backend.cpu
  memory                   = var.backend.memory
  network_mode             = "awsvpc"
  requires_compatibilities = ["FARGATE"]
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.backend_task.arn
  container_definitions    = jsonencode([
    {
      name         = "backend"
      image        = replace(var.backend.image, "$${account}", data.aws_caller_identity.current.account_id)
      essential    = true
      portMappings = [
        {
          containerPort = 8000
          hostPort      = 8000
          protocol      = "tcp"
        },
      ]
      environment = [for k, v in var.backend.environment : { name = k, value = replace(v, "$${account}", data.aws_caller_identity.current.account_id) }]
      healthCheck = {
        command     = ["CMD-SHELL", "wget -q -O /dev/null http://localhost:8000/health || exit 1"]
        interval    = 30
        timeout     = 5
        retries     = 3
        startPeriod = 10
      }
      logConfiguration = {
        logDriver = "awslogs"
        options   = {
          "awslogs-group"         = aws_cloudwatch_log_group.backend.name
          "awslogs-region"        = var.region
          "awslogs-stream-prefix" = "backend"
        }
      }
    },
  ])
}

resource "aws_service_discovery_service" "backend" {
  name = "backend"

  dns_config {
    namespace_id   = aws_service_discovery_private_dns_namespace.main.id
    routing_policy = "MULTIVALUE"

    dns_records {
      ttl  = 10
      type = "A"
    }
  }

  health_check_custom_config {
    failure_threshold = 1
  }
}

resource "aws_ecs_service" "backend" {
  name                               = "${var.project}-${var.environment}-backend"
  cluster                            = aws_ecs_cluster.main.id
  task_definition                    = aws_ecs_task_definition.backend.arn
  desired_count                      = var.backend.desired_count
  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200
  propagate_tags                     = "SERVICE"
  tags                               = local.tags

  capacity_provider_strategy {
    capacity_provider = var.backend.capacity_provider
    weight            = 1
    base              = 0
  }

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  network_configuration {
    subnets          = var.subnet_ids
    security_groups  = [aws_security_group.tasks.id]
    assign_public_ip = false
  }

  service_registries {
    registry_arn = aws_service_discovery_service.backend.arn
  }

  depends_on = [aws_ecs_cluster_capacity_providers.main]

  lifecycle {
    ignore_changes = [desired_count]
  }
}

resource "aws_appautoscaling_target" "backend" {
  count              = var.backend.autoscaling == null ? 0 : 1
  service_namespace  = "ecs"
  resource_id        = "service/${aws_ecs_cluster.main.name}/${aws_ecs_service.backend.name}"
  scalable_dimension = "ecs:service:DesiredCount"
  min_capacity       = var.backend.autoscaling.min
  max_capacity       = var.backend.autoscaling.max
}

resource "aws_appautoscaling_policy" "backend_cpu" {
  count              = try(var.backend.autoscaling.cpu_target, null) == null ? 0 : 1
  name               = "backend-cpu-${floor(var.backend.autoscaling.cpu_target)}"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.backend[0].service_namespace
  resource_id        = aws_appautoscaling_target.backend[0].resource_id
  scalable_dimension = aws_appautoscaling_target.backend[0].scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value       = var.backend.autoscaling.cpu_target
    scale_out_cooldown = var.backend.autoscaling.scale_out_cooldown
    scale_in_cooldown  = var.backend.autoscaling.scale_in_cooldown

    predefined_metric_specification {
      predefined_metric_type = "ECSServiceAverageCPUUtilization"
    }
  }
}

resource "aws_cloudwatch_log_group" "frontend" {
  name              = "/ecs/${var.project}-${var.environment}/frontend"
  retention_in_days = var.log_retention_days
}

resource "aws_ecs_task_definition" "frontend" {
  family                   = "${var.project}-${var.environment}-frontend"
  cpu                      = var.frontend.cpu
  memory                   = var.frontend.memory
  network_mode             = "awsvpc"
  requires_compatibilities = ["FARGATE"]
  execution_role_arn       = aws_iam_role.execution.arn
  container_definitions    = jsonencode([
    {
      name         = "frontend"
      image        = replace(var.frontend.image, "$${account}", data.aws_caller_identity.current.account_id)
      essential    = true
      portMappings = [
        {
          containerPort = 3000
          hostPort      = 3000
          protocol      = "tcp"
        },
      ]
      environment = [for k, v in var.frontend.environment : { name = k, value = replace(v, "$${account}", data.aws_caller_identity.current.account_id) }]
      healthCheck = {
        command  = ["CMD-SHELL", "wget -q -O /dev/null http://localhost:3000/ || exit 1"]
        interval = 30
        timeout  = 5
        retries  = 3
      }
      logConfiguration = {
        logDriver = "awslogs"
        options   = {
          "awslogs-group"         = aws_cloudwatch_log_group.frontend.name
          "awslogs-region"        = var.region
          "awslogs-stream-prefix" = "frontend"
        }
      }
    },
  ])
}

resource "aws_service_discovery_service" "frontend" {
  name = "frontend"

  dns_config {
    namespace_id   = aws_service_discovery_private_dns_namespace.main.id
    routing_policy = "MULTIVALUE"

    dns_records {
      ttl  = 10
      type = "A"
    }
  }

  health_check_custom_config {
    failure_threshold = 1
  }
}

resource "aws_ecs_service" "frontend" {
  name                               = "${var.project}-${var.environment}-frontend"
  cluster                            = aws_ecs_cluster.main.id
  task_definition                    = aws_ecs_task_definition.frontend.arn
  desired_count                      = var.frontend.desired_count
  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200
  propagate_tags                     = "SERVICE"
  tags                               = local.tags

  capacity_provider_strategy {
    capacity_provider = var.frontend.capacity_provider
    weight            = 1
    base              = 0
  }

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  network_configuration {
    subnets          = var.subnet_ids
    security_groups  = [aws_security_group.tasks.id]
    assign_public_ip = false
  }

  service_registries {
    registry_arn = aws_service_discovery_service.frontend.arn
  }

  depends_on = [aws_ecs_cluster_capacity_providers.main]

  lifecycle {
    ignore_changes = [desired_count]
  }
}

resource "aws_appautoscaling_target" "frontend" {
  count              = var.frontend.autoscaling == null ? 0 : 1
  service_namespace  = "ecs"
  resource_id        = "service/${aws_ecs_cluster.main.name}/${aws_ecs_service.frontend.name}"
  scalable_dimension = "ecs:service:DesiredCount"
  min_capacity       = var.frontend.autoscaling.min
  max_capacity       = var.frontend.autoscaling.max
}

resource "aws_appautoscaling_policy" "frontend_cpu" {
  count              = try(var.frontend.autoscaling.cpu_target, null) == null ? 0 : 1
  name               = "frontend-cpu-${floor(var.frontend.autoscaling.cpu_target)}"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.frontend[0].service_namespace
  resource_id        = aws_appautoscaling_target.frontend[0].resource_id
  scalable_dimension = aws_appautoscaling_target.frontend[0].scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value       = var.frontend.autoscaling.cpu_target
    scale_out_cooldown = var.frontend.autoscaling.scale_out_cooldown
    scale_in_cooldown  = var.frontend.autoscaling.scale_in_cooldown

    predefined_metric_specification {
      predefined_metric_type = "ECSServiceAverageCPUUtilization"
    }
  }
}
