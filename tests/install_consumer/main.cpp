// A program outside the source tree that links an installed fitrun.
#include <fitrun/fitrun.hpp>

#include <iostream>

int main() {
  using namespace fitrun;
  layers::Dense dense(3);
  Sequential model({Input({2}), std::move(dense)});
  std::cout << "params " << model.count_params() << "\n";
  return model.count_params() == 9 ? 0 : 1;
}
