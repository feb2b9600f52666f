// The botocore service models compiled into berth.
//
// scripts/gen-models.py strips botocore's service-2.json files into
// data/models/<id>.json (committed); scripts/embed-models.py turns those into
// build/gen/embedded_models.cc, which defines the table below. Read the
// models through aws/model.h, which parses them lazily; this table is the raw
// text.
//
// Thread rules: immutable static data, safe from any thread.
#pragma once

#include <cstddef>

namespace berth::aws {

struct EmbeddedModel {
  const char* id;    // berth's service id: "ecs", "logs", "monitoring", ...
  const char* json;  // the stripped model, minified JSON; NUL-terminated
  size_t size;       // bytes of json, without the NUL
};

// Sorted by id.
extern const EmbeddedModel kEmbeddedModels[];
extern const size_t kEmbeddedModelCount;

}  // namespace berth::aws
