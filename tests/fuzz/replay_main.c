/*
 * replay_main.c: a fuzz target without libFuzzer, for `make coverage`:
 * gcc builds the target with its gcov instrumentation (which libFuzzer,
 * a clang runtime, cannot share) and this main replays inputs through it:
 * LLVMFuzzerInitialize once, then LLVMFuzzerTestOneInput on each file
 * named, and on each file of each directory named, in name order.
 *
 *   fuzz_<target> tests/fuzz/corpus/<target> [more files or directories]
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Run the target on one file's bytes; false if it cannot be read. */
static int replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *data = NULL;
	size_t size = 0, cap = 0, n;

	if (!f) {
		perror(path);
		return 0;
	}
	do {
		if (size == cap) {
			uint8_t *bigger = realloc(data, cap ? cap * 2 : 4096);

			if (!bigger) {
				fclose(f);
				free(data);
				return 0;
			}
			data = bigger;
			cap = cap ? cap * 2 : 4096;
		}
		n = fread(data + size, 1, cap - size, f);
		size += n;
	} while (n);
	fclose(f);
	LLVMFuzzerTestOneInput(data, size);
	free(data);
	return 1;
}

static int not_hidden(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

int main(int argc, char **argv)
{
	int inputs = 0, bad = 0;

	if (LLVMFuzzerInitialize)
		LLVMFuzzerInitialize(&argc, &argv);
	for (int i = 1; i < argc; i++) {
		struct dirent **names;
		struct stat st;
		int n;

		if (stat(argv[i], &st) || !S_ISDIR(st.st_mode)) {
			inputs++;
			bad += !replay_file(argv[i]);
			continue;
		}
		n = scandir(argv[i], &names, not_hidden, alphasort);
		if (n < 0) {
			perror(argv[i]);
			bad++;
			continue;
		}
		for (int j = 0; j < n; j++) {
			char path[4096];

			snprintf(path, sizeof(path), "%s/%s", argv[i],
				 names[j]->d_name);
			inputs++;
			bad += !replay_file(path);
			free(names[j]);
		}
		free(names);
	}
	printf("replay: %d inputs, %d unreadable\n", inputs, bad);
	return bad || !inputs;
}
