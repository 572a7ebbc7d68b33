// SPDX-License-Identifier: Apache-2.0
/*
 * The Death Star's API server, for the Star Wars demo.
 *
 *   GET  /v1                  a JSON description of the station and its API
 *                             list -- without the exhaust port, which the
 *                             Empire keeps off the public list
 *   POST /v1/request-landing  "Ship landed"
 *   PUT  /v1/exhaust-port     "Panic: deathstar exploded", and the server
 *                             really exits a moment later
 *
 * Every request is appended to an API log, which also records at start-up
 * every API the station has, the hidden one included (that is the leak).
 * After each request the log is uploaded over FTP to every storage given
 * with --storage (curl does the FTP, in the background, so a storage that
 * policy blocks does not slow the station down).
 *
 *   deathstar [--port 80] [--log FILE] [--storage HOST]...
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_STORAGES 4

static const char *log_path = "/tmp/deathstar-api.log";
static const char *storages[MAX_STORAGES];
static int storage_count;

static void log_line(const char *fmt, const char *a, const char *b)
{
	FILE *f = fopen(log_path, "a");
	char when[32];
	time_t now = time(NULL);

	if (!f)
		return;
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
	fprintf(f, "%s ", when);
	fprintf(f, fmt, a, b);
	fputc('\n', f);
	fclose(f);
}

/* Upload the log to every storage, fire and forget (SIGCHLD is ignored,
 * so the children are reaped by the kernel). */
static void upload_log(void)
{
	for (int i = 0; i < storage_count; i++) {
		char url[256];
		pid_t pid;

		snprintf(url, sizeof(url), "ftp://%s/upload/deathstar-api.log",
			 storages[i]);
		pid = fork();
		if (pid == 0) {
			execlp("curl", "curl", "-s", "-m", "3", "-T", log_path, url,
			       (char *)NULL);
			_exit(127);
		}
	}
}

static void respond(int fd, int status, const char *type, const char *body)
{
	char head[256];
	int n = snprintf(head, sizeof(head),
			 "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
			 "Connection: close\r\n\r\n",
			 status, status == 200 ? "OK" : "Not Found", type, strlen(body));

	if (write(fd, head, (size_t)n) < 0 || write(fd, body, strlen(body)) < 0)
		return;
}

static const char station[] =
    "{\n"
    "  \"name\": \"Death Star\",\n"
    "  \"model\": \"DS-1 Orbital Battle Station\",\n"
    "  \"manufacturer\": \"Imperial Department of Military Research, Sienar Fleet "
    "Systems\",\n"
    "  \"cost_in_credits\": \"1000000000000\",\n"
    "  \"crew\": 342953,\n"
    "  \"passengers\": 843342,\n"
    "  \"starship_class\": \"Deep Space Mobile Battlestation\",\n"
    "  \"api\": [\n"
    "    \"GET   /v1\",\n"
    "    \"POST  /v1/request-landing\"\n"
    "  ]\n"
    "}\n";

/* Returns 1 when the station must explode after answering. */
static int serve(int fd)
{
	char buf[8192], method[16] = "", path[1024] = "";
	size_t len = 0;
	ssize_t n;

	/* Read the head; bodies are not used by this API. */
	while (len < sizeof(buf) - 1) {
		n = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (n <= 0)
			return 0;
		len += (size_t)n;
		buf[len] = '\0';
		if (strstr(buf, "\r\n\r\n"))
			break;
	}
	if (sscanf(buf, "%15s %1023s", method, path) != 2)
		return 0;
	log_line("%s %s", method, path);
	if (!strcmp(method, "GET") && !strcmp(path, "/v1")) {
		respond(fd, 200, "application/json", station);
	} else if (!strcmp(method, "POST") && !strcmp(path, "/v1/request-landing")) {
		respond(fd, 200, "text/plain", "Ship landed\n");
	} else if (!strcmp(method, "PUT") && !strcmp(path, "/v1/exhaust-port")) {
		respond(fd, 200, "text/plain", "Panic: deathstar exploded\n");
		return 1;
	} else {
		respond(fd, 404, "text/plain", "Not found\n");
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_in addr = {.sin_family = AF_INET};
	int port = 80, one = 1, lfd;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--port") && i + 1 < argc)
			port = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--log") && i + 1 < argc)
			log_path = argv[++i];
		else if (!strcmp(argv[i], "--storage") && i + 1 < argc &&
			 storage_count < MAX_STORAGES)
			storages[storage_count++] = argv[++i];
		else {
			fprintf(stderr, "usage: deathstar [--port N] [--log FILE] "
					"[--storage HOST]...\n");
			return 2;
		}
	}
	signal(SIGCHLD, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	addr.sin_port = htons((uint16_t)port);
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
	    listen(lfd, 64) < 0) {
		perror("deathstar: listen");
		return 1;
	}
	/* The full API list goes to the log, the hidden entry too. */
	log_line("station online, API: %s, %s", "GET /v1, POST /v1/request-landing",
		 "PUT /v1/exhaust-port (maintenance only, not in the public list)");
	upload_log();
	for (;;) {
		int fd = accept(lfd, NULL, NULL);
		int explode;

		if (fd < 0) {
			if (errno == EINTR)
				continue;
			perror("deathstar: accept");
			return 1;
		}
		explode = serve(fd);
		close(fd);
		upload_log();
		if (explode) {
			/* "a moment later" */
			usleep(300000);
			fprintf(stderr, "deathstar: exploded\n");
			return 3;
		}
	}
}
