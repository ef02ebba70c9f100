// The HubStore suite: every backend passes the same cases (store_suite.cc). Each
// backend's test binary links the suite with a file defining make_store_fixture(), which
// gives each test case a fresh, empty database of that backend:
//   store_sqlite_tests    sqlite_backend.cc    a file in a temp directory
//   store_postgres_tests  postgres_backend.cc  a database of its own on a throwaway
//                                              server shared by the binary's test cases
#pragma once

#include <memory>
#include <string>

#include "common/status.h"
#include "hub/store.h"

namespace reflex::testing {

class StoreFixture {
 public:
  virtual ~StoreFixture() = default;
  // The store config naming this test case's database.
  virtual hub::StoreConfig config() const = 0;
  // The first column of the first row `sql` returns, as text ("" when no row): for
  // tables no HubStore load reads back. `sql` must mean the same in both dialects.
  virtual std::string peek(const std::string& sql) = 0;
  // Records `version` as applied, as a newer build's migration would.
  virtual void record_schema_version(int version) = 0;
  // Creates the schema as a build that knew migrations up to `version` left it, for a
  // test of the next one; then `exec` writes what such a build would have written.
  virtual void migrate_to(int version) = 0;
  virtual void exec(const std::string& sql) = 0;

  // Opens (again) the store on this database; the test fails when it cannot.
  std::unique_ptr<hub::HubStore> open();
};

std::unique_ptr<StoreFixture> make_store_fixture();

}  // namespace reflex::testing
