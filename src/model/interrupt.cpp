// SIGINT handling for fit(): see interrupt.hpp. The handler only touches a lock-free atomic
// and async-signal-safe calls (signal, raise).
#include "model/interrupt.hpp"

#include <atomic>
#include <csignal>
#include <mutex>

namespace fitrun::detail {
namespace {

std::atomic<int> g_count{0};  // SIGINTs received since the outermost guard began
std::mutex g_mutex;           // guards g_depth and g_previous (never touched by the handler)
int g_depth = 0;
struct sigaction g_previous {};
bool g_installed = false;

extern "C" void on_sigint(int) {
  if (g_count.fetch_add(1) >= 1) {
    // Second Ctrl-C: die of SIGINT now, as the user asked (exit status 130 in shells).
    std::signal(SIGINT, SIG_DFL);
    std::raise(SIGINT);
  }
}

}  // namespace

InterruptGuard::InterruptGuard() {
  std::lock_guard<std::mutex> lock(g_mutex);
  if (g_depth++ > 0) return;  // nested or concurrent fits share the outermost handler
  g_count = 0;
  struct sigaction previous {};
  sigaction(SIGINT, nullptr, &previous);
  g_installed = previous.sa_handler != SIG_IGN;
  if (!g_installed) return;
  struct sigaction action {};
  action.sa_handler = on_sigint;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;  // a read() in the data pipeline just continues
  sigaction(SIGINT, &action, &g_previous);
}

InterruptGuard::~InterruptGuard() {
  std::lock_guard<std::mutex> lock(g_mutex);
  if (--g_depth > 0) return;
  if (g_installed) sigaction(SIGINT, &g_previous, nullptr);
  g_installed = false;
  g_count = 0;
}

bool InterruptGuard::requested() const { return g_count.load(std::memory_order_relaxed) > 0; }

}  // namespace fitrun::detail
