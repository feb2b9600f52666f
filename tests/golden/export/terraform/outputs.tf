# durableai: the outputs, written by `berth export terraform` from berth.yaml.

output "cluster_name" {
  description = "The ECS cluster"
  value       = aws_ecs_cluster.main.name
}

output "service_names" {
  description = "The ECS services, by the stack's service names"
  value       = {
    backend  = aws_ecs_service.backend.name
    frontend = aws_ecs_service.frontend.name
  }
}

output "ecr_repository_urls" {
  description = "Where to push the images"
  value       = {
    "durableai/backend"  = aws_ecr_repository.durableai_backend.repository_url
    "durableai/frontend" = aws_ecr_repository.durableai_frontend.repository_url
  }
}

output "log_group_names" {
  description = "The services' CloudWatch log groups"
  value       = {
    backend  = aws_cloudwatch_log_group.backend.name
    frontend = aws_cloudwatch_log_group.frontend.name
  }
}

output "discovery_names" {
  description = "The services' names in Cloud Map DNS"
  value       = {
    backend  = "${aws_service_discovery_service.backend.name}.${aws_service_discovery_private_dns_namespace.main.name}"
    frontend = "${aws_service_discovery_service.frontend.name}.${aws_service_discovery_private_dns_namespace.main.name}"
  }
}
