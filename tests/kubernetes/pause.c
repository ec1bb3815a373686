/* pause.c: the sandbox ("pause") container's program for the kubernetes test tier, compiled
 * static and packed into a locally built OCI image (no image can be pulled here). Like
 * kubernetes' build/pause/linux/pause.c: hold the pod's namespaces, reap zombies (it is PID 1
 * when the pod shares its PID namespace), exit on SIGINT/SIGTERM. */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static void on_term(int sig)
{
	(void)sig;
	_exit(0);
}

static void on_child(int sig)
{
	(void)sig;
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

int main(void)
{
	struct sigaction term = {.sa_handler = on_term}, child = {.sa_handler = on_child};

	sigemptyset(&term.sa_mask);
	sigemptyset(&child.sa_mask);
	child.sa_flags = SA_NOCLDSTOP;
	if (sigaction(SIGINT, &term, NULL) != 0 || sigaction(SIGTERM, &term, NULL) != 0 ||
	    sigaction(SIGCHLD, &child, NULL) != 0)
		return 1;
	for (;;)
		pause();
}
