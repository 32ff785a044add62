/* Stand-in for e2e-test-images/nonewprivs: installed setuid root; critest's NoNewPrivs specs
 * read the effective uid from the log (0 without no_new_privs, the caller's uid with it). */
#include <stdio.h>
#include <unistd.h>
int main(void) { printf("Effective uid: %d\n", (int)geteuid()); return 0; }
