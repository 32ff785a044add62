/* Stand-in for registry.k8s.io/pause:3.9: sleeps until SIGINT/SIGTERM, reaps children. */
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
static void die(int s) { (void)s; _exit(0); }
static void reap(int s) { (void)s; while (waitpid(-1, NULL, WNOHANG) > 0) ; }
int main(void) {
  struct sigaction a = {0}, c = {0};
  a.sa_handler = die;  sigaction(SIGINT, &a, NULL); sigaction(SIGTERM, &a, NULL);
  c.sa_handler = reap; c.sa_flags = SA_NOCLDSTOP; sigaction(SIGCHLD, &c, NULL);
  for (;;) pause();
}
