#include "visual.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdlib>
#include <vector>

namespace cli {
namespace {

// Code points in a UTF-8 string (an approximation of its terminal width).
int Width(const std::string& s) {
  int w = 0;
  for (unsigned char c : s) w += (c & 0xC0) != 0x80;
  return w;
}

// A token's text made printable on one line.
std::string Printable(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (c == '\n') out += "\xE2\x86\xB5";       // ↵
    else if (c == '\t') out += "\xE2\x86\x92";  // →
    else if (c < 0x20 || c == 0x7F) out += "\xC2\xB7";  // ·
    else out += static_cast<char>(c);
  }
  return out;
}

}  // namespace

bool IsTerminal(FILE* f) { return isatty(fileno(f)) != 0; }

CanvasView::CanvasView(const dllm::Model& model, FILE* out) : model_(model), out_(out) {
  winsize ws{};
  if (ioctl(fileno(out), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) {
    columns_ = ws.ws_col;
    rows_ = ws.ws_row > 0 ? ws.ws_row : 24;
  } else if (const char* c = std::getenv("COLUMNS")) {
    columns_ = std::max(20, std::atoi(c));
  }
}

const std::string& CanvasView::Piece(int32_t id) {
  auto it = pieces_.find(id);
  if (it != pieces_.end()) return it->second;
  dllm::Expected<std::string> text = model_.TryDetokenize({id}, /*render_special=*/true);
  std::string p = text ? Printable(*text) : "?";
  if (p.empty()) p = "\xC2\xB7";
  return pieces_.emplace(id, std::move(p)).first->second;
}

void CanvasView::Clear() {
  if (lines_drawn_ > 0) std::fprintf(out_, "\x1b[%dF\x1b[J", lines_drawn_);
  lines_drawn_ = 0;
  std::fflush(out_);
}

void CanvasView::Draw(const dllm::StepInfo& s) {
  int accepted = 0;
  for (int64_t i = 0; i < s.length; ++i) accepted += s.accepted[i] != 0;
  std::vector<std::string> lines;
  char header[160];
  std::snprintf(header, sizeof(header),
                "\x1b[7m canvas %d  step %d/%d  accepted %d/%lld  mean entropy %.3f%s \x1b[0m",
                s.canvas_index, s.step + 1, s.max_steps, accepted,
                static_cast<long long>(s.length), s.mean_entropy, s.is_final ? "  (final)" : "");
  lines.emplace_back(header);
  std::string line;
  int width = 0;
  for (int64_t i = 0; i < s.length; ++i) {
    const std::string& p = Piece(s.canvas[i]);
    const int w = Width(p);
    if (width > 0 && width + w > columns_ - 1) {
      lines.push_back(line + "\x1b[0m");
      line.clear();
      width = 0;
    }
    line += s.accepted[i] ? "\x1b[1;32m" : "\x1b[2m";
    line += p;
    line += "\x1b[0m";
    width += w;
  }
  if (!line.empty()) lines.push_back(line);
  // Cursor movement cannot reach above the screen: show only what fits.
  const size_t max_lines = static_cast<size_t>(std::max(3, rows_ - 2));
  if (lines.size() > max_lines) {
    lines.resize(max_lines);
    lines.back() = "\x1b[2m...\x1b[0m";
  }
  std::string out;
  if (lines_drawn_ > 0) out += "\x1b[" + std::to_string(lines_drawn_) + "F\x1b[J";
  for (const std::string& l : lines) out += l + "\n";
  std::fputs(out.c_str(), out_);
  std::fflush(out_);
  lines_drawn_ = static_cast<int>(lines.size());
}

bool ShowLoadProgress(float fraction) {
  static const bool tty = IsTerminal(stderr);
  if (!tty) return true;
  const int width = 30;
  const int filled = static_cast<int>(fraction * width + 0.5f);
  std::string bar(static_cast<size_t>(filled), '=');
  if (filled < width) bar += '>';
  bar.resize(width, ' ');
  std::fprintf(stderr, "\rloading [%s] %3d%%", bar.c_str(), static_cast<int>(fraction * 100 + 0.5f));
  if (fraction >= 1.0f) std::fputs("\r\x1b[K", stderr);
  std::fflush(stderr);
  return true;
}

}  // namespace cli
