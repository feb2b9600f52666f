// Golden tests of `berth export`: the durableai example's CloudFormation
// templates and Terraform module, byte for byte against the files under
// tests/golden/export/. A deliberate change of the output is recorded by
// running this test with BERTH_UPDATE_GOLDEN=1 and reviewing the diff.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "stack/export.h"
#include "stack/stack_file.h"

namespace berth::stack {
namespace {

namespace fs = std::filesystem;

fs::path sourceDir() {
  fs::path here = fs::path(__FILE__).parent_path() / "../../..";
  if (fs::exists(here / "examples/durableai/berth.yaml")) return here;
  if (const char* src = std::getenv("BERTH_SOURCE_DIR")) return src;
  return here;
}

StackFile example() {
  auto file = loadStackFile((sourceDir() / "examples/durableai/berth.yaml").string());
  EXPECT_TRUE(file) << (file ? "" : file.error().message);
  return file ? *file : StackFile{};
}

// Compares `actual` with the golden file `name`, or rewrites it when asked.
void expectGolden(const std::string& name, const std::string& actual) {
  fs::path path = sourceDir() / "tests/golden/export" / name;
  if (std::getenv("BERTH_UPDATE_GOLDEN")) {
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary | std::ios::trunc) << actual;
    return;
  }
  std::ifstream in(path, std::ios::binary);
  ASSERT_TRUE(in) << "no golden file " << path << " (run with BERTH_UPDATE_GOLDEN=1 to write it)";
  std::ostringstream expected;
  expected << in.rdbuf();
  EXPECT_EQ(actual, expected.str()) << "the export differs from " << path
                                    << "; if the change is intended, rerun with BERTH_UPDATE_GOLDEN=1";
}

TEST(ExportGoldenTest, CloudFormationTemplatesOfTheExample) {
  StackFile file = example();
  for (const char* env : {"dev", "prod"}) {
    auto resolved = resolve(file, env, "${AWS::AccountId}");
    ASSERT_TRUE(resolved) << resolved.error().message;
    expectGolden(std::string("cloudformation-") + env + ".json", exportCloudFormation(*resolved));
  }
}

TEST(ExportGoldenTest, TerraformModuleOfTheExample) {
  auto files = exportTerraform(example(), {});
  ASSERT_TRUE(files) << files.error().message;
  ASSERT_EQ(files->size(), 5u);  // main, variables, outputs, dev and prod tfvars
  for (const ExportedFile& f : *files) expectGolden("terraform/" + f.path, f.content);
}

}  // namespace
}  // namespace berth::stack
