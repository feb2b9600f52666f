// `berth export`: a stack file as infrastructure code for real AWS, the way
// out when one machine is outgrown (docs/export.md).
//
//   - CloudFormation: one template (JSON) per environment, every value of
//     that environment resolved; the VPC and its subnets are template
//     parameters. It passes cfn-lint with no errors.
//   - Terraform: one module for every environment of the file (main.tf,
//     variables.tf, outputs.tf), whatever differs between environments a
//     variable, and one environments/<env>.tfvars per environment, as the
//     seed lays its infrastructure out (terraform plan
//     -var-file=environments/dev.tfvars).
//
// Both describe the same resources as render.h (what `berth apply` makes),
// with the seed's names: aws_ecs_cluster.main, aws_ecs_service.<service>.
//
// Pure functions of their input; thread-safe.
#pragma once

#include <string>
#include <vector>

#include "common/result.h"
#include "stack/model.h"

namespace berth::stack {

// A file an export writes: `path` is relative to the output directory.
struct ExportedFile {
  std::string path, content;
};

// The CloudFormation template (JSON, AWSTemplateFormatVersion 2010-09-09)
// of one resolved environment. Resolve the environment with account
// "${AWS::AccountId}": strings that hold it become Fn::Sub.
std::string exportCloudFormation(const Environment& env);

// The Terraform module of a whole stack file: main.tf, variables.tf and
// outputs.tf, then environments/<env>.tfvars for each environment named in
// `environments` (every environment of the file when empty). kNotFound for
// an environment the file does not have.
Result<std::vector<ExportedFile>> exportTerraform(const StackFile& file, const std::vector<std::string>& environments);

}  // namespace berth::stack
