// Terminal views of dllm-cli: the live canvas (--visual) and the model-loading progress bar.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <unordered_map>

#include "dllm/dllm.hpp"

namespace cli {

bool IsTerminal(FILE* f);

// Draws the canvas being denoised below the transcript and redraws it in place after every
// step: accepted positions bold green, the rest (the model's current guesses) dim. Clear()
// removes it before committed text is printed.
class CanvasView {
 public:
  CanvasView(const dllm::Model& model, FILE* out);
  void Draw(const dllm::StepInfo& step);
  void Clear();

 private:
  const std::string& Piece(int32_t id);

  const dllm::Model& model_;
  FILE* out_;
  int lines_drawn_ = 0;
  int columns_ = 80;
  int rows_ = 24;
  std::unordered_map<int32_t, std::string> pieces_;
};

// "loading [=====>     ]  45%" on stderr when it is a terminal; always continues.
bool ShowLoadProgress(float fraction);

}  // namespace cli
