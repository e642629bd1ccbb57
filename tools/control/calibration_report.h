// The calibrated profile's figures as the control protocol returns them (calibrate, show):
// what was measured, the model's cost per kind of rule on each path, and where each kind runs.
#pragma once

#include "flows/calibration.h"
#include "protocol.h"

namespace swd::ctl {

json calibration_json(const flows::calibration& c);

} // namespace swd::ctl
