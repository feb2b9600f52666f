# durableai: the prod environment, written by `berth export terraform` from berth.yaml.
# terraform plan -var-file=environments/prod.tfvars
# "$${account}" stands for the account id: the module puts it in.
#
# The VPC is not the stack's: name it here or with -var.
# vpc_id     = "vpc-0123456789abcdef0"
# subnet_ids = ["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"]

environment        = "prod"
region             = "us-east-1"
cluster_name       = "durableai-prod-cluster"
namespace          = "prod.local"
container_insights = true
log_retention_days = 30
tags               = {
  CostCenter  = "durableai"
  Environment = "prod"
  ManagedBy   = "berth"
  Owner       = "platform"
  Project     = "durableai"
}

parameters = {
  "/durableai/prod/greeting" = {
    type        = "SecureString"
    value       = "hello from durableai prod"
    description = "The backend's greeting (read through its task role)"
  }
}

backend = {
  image             = "$${account}.dkr.ecr.us-east-1.amazonaws.com/durableai/backend:latest"
  cpu               = 512
  memory            = 1024
  desired_count     = 2
  capacity_provider = "FARGATE"
  environment       = {
    APP_ENV            = "prod"
    GREETING_PARAMETER = "/durableai/prod/greeting"
    PORT               = "8000"
  }
  autoscaling = {
    cpu_target         = 60
    memory_target      = null
    min                = 1
    max                = 4
    scale_out_cooldown = 120
    scale_in_cooldown  = 300
  }
}

frontend = {
  image             = "$${account}.dkr.ecr.us-east-1.amazonaws.com/durableai/frontend:latest"
  cpu               = 256
  memory            = 512
  desired_count     = 2
  capacity_provider = "FARGATE"
  environment       = {
    BACKEND_URL = "http://backend.prod.local:8000"
    PORT        = "3000"
  }
  autoscaling = {
    cpu_target         = 60
    memory_target      = null
    min                = 1
    max                = 4
    scale_out_cooldown = 120
    scale_in_cooldown  = 300
  }
}
