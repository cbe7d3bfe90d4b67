#include "plan_checks.hpp"
