// The validator's field table (src/cli/run_fields.cpp) against docs/run-config.schema.json and
// docs/run-config.md: every object the validator reads has exactly the schema's properties, the
// schema has no object the validator lacks, and the doc names every field.
#include <catch2/catch.hpp>

#include <map>
#include <set>

#include <fitrun/json.hpp>

#include "cli/run_fields.hpp"
#include "cli_helpers.hpp"

using namespace fitrun;
using namespace fitrun::testing_cli;

namespace {

const json& schema() {
  static const json s = json::parse(read_file(source_file("docs/run-config.schema.json")));
  return s;
}

/// Follows "$ref": "#/$defs/name".
const json& resolve(const json& node) {
  if (node.contains("$ref")) {
    const std::string ref = node["$ref"];
    REQUIRE(ref.rfind("#/", 0) == 0);
    return schema()[json::json_pointer(ref.substr(1))];
  }
  return node;
}

/// The object schema of `node`: itself, or its one "oneOf" alternative with properties.
const json* object_schema(const json& n) {
  const json& node = resolve(n);
  if (node.contains("properties")) return &node;
  if (node.contains("oneOf"))
    for (const json& alt : node["oneOf"])
      if (resolve(alt).contains("properties")) return &resolve(alt);
  return nullptr;
}

/// Every object with properties in the schema, by run-file pointer ("*" for list items).
void collect(const json& node, const std::string& pointer, std::map<std::string, std::set<std::string>>& out) {
  const json* obj = object_schema(node);
  if (obj) {
    std::set<std::string> keys;
    for (auto it = (*obj)["properties"].begin(); it != (*obj)["properties"].end(); ++it) {
      keys.insert(it.key());
      collect(it.value(), pointer + "/" + it.key(), out);
    }
    CHECK((*obj)["additionalProperties"] == false);  // unknown keys are errors, as in fitrun
    out[pointer] = keys;
  }
  const json& r = resolve(node);
  if (r.contains("items")) collect(r["items"], pointer + "/*", out);
}

}  // namespace

TEST_CASE("the run-file schema lists exactly the fields the validator accepts", "[cli]") {
  std::map<std::string, std::set<std::string>> in_schema;
  collect(schema(), "", in_schema);
  std::map<std::string, std::set<std::string>> in_table;
  for (const auto& o : cli::run_file_objects())
    in_table[o.pointer] = std::set<std::string>(o.keys.begin(), o.keys.end());
  for (const auto& [pointer, keys] : in_table) {
    INFO("validator object \"" << pointer << "\"");
    REQUIRE(in_schema.count(pointer));
    CHECK(in_schema[pointer] == keys);
  }
  for (const auto& [pointer, keys] : in_schema) {
    INFO("schema object \"" << pointer << "\"");
    CHECK(in_table.count(pointer));
  }
  // The source formats too.
  const json& formats = schema()["$defs"]["source"]["properties"]["format"]["enum"];
  CHECK(formats.get<std::vector<std::string>>() == cli::data_formats());
}

TEST_CASE("docs/run-config.md names every field of the run file", "[cli]") {
  const std::string doc = read_file(source_file("docs/run-config.md"));
  for (const auto& o : cli::run_file_objects())
    for (const auto& k : o.keys) {
      INFO(o.pointer << "/" << k);
      CHECK(doc.find("| `" + k + "` |") != std::string::npos);
    }
}
