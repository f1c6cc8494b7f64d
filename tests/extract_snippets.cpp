// Turns every ```cpp block of README.md into a test, so the README's code
// cannot rot: each block compiles into its own namespace, its #includes are
// hoisted, and its main() runs as a Catch2 test case that must return 0.
//
//   extract_snippets README.md out.cpp
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: extract_snippets README.md out.cpp\n";
    return 2;
  }
  std::ifstream in(argv[1]);
  if (!in) {
    std::cerr << "cannot read " << argv[1] << "\n";
    return 1;
  }
  struct snippet {
    int line;
    std::vector<std::string> includes, body;
    bool has_main = false;
  };
  std::vector<snippet> snippets;
  std::string line;
  int n = 0;
  bool inside = false;
  while (std::getline(in, line)) {
    ++n;
    if (!inside && line.rfind("```cpp", 0) == 0) {
      inside = true;
      snippets.push_back({n + 1, {}, {}, false});
      continue;
    }
    if (inside && line.rfind("```", 0) == 0) {
      inside = false;
      continue;
    }
    if (!inside) continue;
    auto& s = snippets.back();
    if (line.rfind("#include", 0) == 0) {
      s.includes.push_back(line);
      s.body.emplace_back();  // keep line numbers aligned
      continue;
    }
    const auto m = line.find("int main(");
    if (m != std::string::npos) {
      line.replace(m, 9, "int run_example(");
      s.has_main = true;
    }
    s.body.push_back(line);
  }
  std::ostringstream out;
  out << "// Generated from README.md by extract_snippets. Do not edit.\n"
      << "#include <catch2/catch.hpp>\n";
  for (const auto& s : snippets)
    for (const auto& inc : s.includes) out << inc << "\n";
  for (std::size_t i = 0; i < snippets.size(); ++i) {
    const auto& s = snippets[i];
    out << "namespace readme_example_" << i << " {\n#line " << s.line << " \"README.md\"\n";
    for (const auto& b : s.body) out << b << "\n";
    out << "}  // namespace readme_example_" << i << "\n";
    if (s.has_main) {
      out << "TEST_CASE(\"README example at line " << s.line << " compiles and runs\", \"[readme]\") {\n"
          << "  REQUIRE(readme_example_" << i << "::run_example() == 0);\n}\n";
    }
  }
  std::ofstream o(argv[2]);
  o << out.str();
  return o ? 0 : 1;
}
