# durableai: the dev environment, written by `berth export terraform` from berth.yaml.
# terraform plan -var-file=environments/dev.tfvars
# "$${account}" stands for the account id: the module puts it in.
#
# The VPC is not the stack's: name it here or with -var.
# vpc_id     = "vpc-0123456789abcdef0"
# subnet_ids = ["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"]

environment        = "dev"
region             = "us-east-1"
cluster_name       = "durableai-dev-cluster"
namespace          = "dev.local"
container_insights = false
log_retention_days = 7
tags               = {
  CostCenter  = "durableai"
  Environment = "dev"
  ManagedBy   = "berth"
  Owner       = "platform"
  Project     = "durableai"
}

parameters = {
  "/durableai/dev/greeting" = {
    type        = "SecureString"
    value       = "hello from durableai dev"
    description = "The backend's greeting (read through its task role)"
  }
}

backend = {
  image             = "$${account}.dkr.ecr.us-east-1.amazonaws.com/durableai/backend:latest"
  cpu               = 256
  memory            = 512
  desired_count     = 1
  capacity_provider = "FARGATE_SPOT"
  environment       = {
    APP_ENV            = "dev"
    GREETING_PARAMETER = "/durableai/dev/greeting"
    PORT               = "8000"
  }
  autoscaling = null
}

frontend = {
  image             = "$${account}.dkr.ecr.us-east-1.amazonaws.com/durableai/frontend:latest"
  cpu               = 256
  memory            = 512
  desired_count     = 1
  capacity_provider = "FARGATE_SPOT"
  environment       = {
    BACKEND_URL = "http://backend.dev.local:8000"
    PORT        = "3000"
  }
  autoscaling = null
}
