// Replays a libFuzzer corpus through LLVMFuzzerTestOneInput in a normal (g++) build, so every
// build checks the checked-in corpus without clang. Usage: replay_<target> <dir-or-file>...
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {
void run_file(const std::filesystem::path& p, std::size_t& count) {
    std::ifstream in(p, std::ios::binary);
    std::vector<char> buf((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(buf.data()), buf.size());
    ++count;
}
} // namespace

int main(int argc, char** argv) {
    std::size_t count = 0;
    for (int i = 1; i < argc; ++i) {
        const std::filesystem::path root(argv[i]);
        if (std::filesystem::is_directory(root)) {
            for (const auto& e : std::filesystem::recursive_directory_iterator(root))
                if (e.is_regular_file()) run_file(e.path(), count);
        } else if (std::filesystem::exists(root)) {
            run_file(root, count);
        } else {
            std::fprintf(stderr, "no such corpus: %s\n", argv[i]);
            return 1;
        }
    }
    // An empty corpus would make this test pass without checking anything.
    if (count == 0) {
        std::fprintf(stderr, "corpus is empty\n");
        return 1;
    }
    std::printf("replayed %zu inputs\n", count);
    return 0;
}
