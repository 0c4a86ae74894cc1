// `lineserve-train datagen`: writes the synthetic data sets bundled with
// lineserve, so the demo and the tests need nothing from outside.
#ifndef LINESERVE_MODELS_TRAIN_DATAGEN_COMMAND_H_
#define LINESERVE_MODELS_TRAIN_DATAGEN_COMMAND_H_

#include <string>
#include <vector>

namespace lineserve::train {

// Runs the command with its arguments (after "datagen"); returns the exit
// code.
int RunDatagenCommand(const std::vector<std::string>& args);

}  // namespace lineserve::train

#endif  // LINESERVE_MODELS_TRAIN_DATAGEN_COMMAND_H_
