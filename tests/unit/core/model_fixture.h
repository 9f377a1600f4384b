// Only for tests/unit/store/store_fixture.h, which still includes this header
// for the manual clock. Core tests include core/core_fixture.h; once the
// store fixture does too, this file goes.
#pragma once

#include "core/core_fixture.h"

namespace warren::core::model_test {

using ManualRuntime = test::ManualRuntime;

}  // namespace warren::core::model_test
