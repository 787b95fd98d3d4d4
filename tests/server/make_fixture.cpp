// Writes the server test model (fixture.h) into a folder: make_fixture DIR [SEED]
#include <cstdio>
#include <cstdlib>

#include "fixture.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: make_fixture DIR [SEED]\n");
    return 2;
  }
  const uint64_t seed = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 7;
  auto st = radseek::server::testing::write_fixture_model(argv[1], seed);
  if (!st) {
    std::fprintf(stderr, "make_fixture: %s\n", st.error().message.c_str());
    return 1;
  }
  return 0;
}
