// SPDX-License-Identifier: Apache-2.0
/*
 * MXNet's RecordIO reader for pmbench: dmlc-core's RecordIOReader (Debian
 * libdmlc-dev) over the benchmark's FIFO.
 *
 * RecordIOReader asks its stream for 8 header bytes, then for the padded
 * payload, copying each record into a std::string it reuses.  Two streams:
 *
 *  - FdStream: read(2) behind a buffer of PMBENCH_BUFFER bytes (what
 *    libpipemode reads with), reading straight into the caller's memory
 *    when a request is at least a buffer long, as stdio does.  The best
 *    case for dmlc-core.
 *  - dmlc::Stream::Create(path, "r"): dmlc-core's own local-file stream
 *    (stdio fread), as MXNet's MXRecordIO opens a .rec file.
 */
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <memory>
#include <stdexcept>
#include <string>

#include <unistd.h>

#include <dmlc/io.h>
#include <dmlc/recordio.h>

#include "bench.h"

namespace {

class FdStream : public dmlc::Stream {
public:
	FdStream(int fd, size_t cap)
		: fd_(fd), buf_(new char[cap]), cap_(cap), pos_(0), end_(0),
		  reads_(0)
	{
	}

	uint64_t
	reads() const
	{
		return reads_;
	}

	// dmlc::Stream::Read fills the request unless the stream ends.
	size_t
	Read(void *ptr, size_t size) override
	{
		char *out = static_cast<char *>(ptr);
		size_t done = 0;

		while (done < size) {
			if (pos_ == end_) {
				if (size - done >= cap_) {
					ssize_t n = fill(out + done, size - done);
					if (n <= 0)
						break;
					done += static_cast<size_t>(n);
					continue;
				}
				ssize_t n = fill(buf_.get(), cap_);
				if (n <= 0)
					break;
				pos_ = 0;
				end_ = static_cast<size_t>(n);
			}
			size_t k = std::min(end_ - pos_, size - done);
			std::memcpy(out + done, buf_.get() + pos_, k);
			pos_ += k;
			done += k;
		}
		return done;
	}

	void
	Write(const void *, size_t) override
	{
		throw std::runtime_error("FdStream is read-only");
	}

private:
	ssize_t
	fill(char *to, size_t len)
	{
		for (;;) {
			ssize_t n = read(fd_, to, len);
			reads_++;
			if (n >= 0)
				return n;
			if (errno != EINTR) {
				std::fprintf(stderr, "pmbench: dmlc: read: %s\n",
					     std::strerror(errno));
				return -1;
			}
		}
	}

	int fd_;
	std::unique_ptr<char[]> buf_;
	size_t cap_, pos_, end_;
	uint64_t reads_;
};

} // namespace

extern "C" int
pmbench_dmlc_read(int fd, const char *path, int use_stdio, uint64_t *records,
		  uint64_t *payload, uint64_t *reads)
{
	try {
		std::unique_ptr<dmlc::Stream> stream;
		FdStream *fds = nullptr;
		if (use_stdio)
			stream.reset(dmlc::Stream::Create(path, "r"));
		else
			stream.reset(fds = new FdStream(fd, PMBENCH_BUFFER));
		dmlc::RecordIOReader reader(stream.get());
		std::string rec;
		uint64_t n = 0, bytes = 0;

		pmbench_mark_start();
		if (reader.NextRecord(&rec)) {
			n++;
			bytes += rec.size();
		}
		pmbench_mark_first();
		while (reader.NextRecord(&rec)) {
			n++;
			bytes += rec.size();
		}
		*records = n;
		*payload = bytes;
		*reads = fds != nullptr ? fds->reads() : UINT64_MAX;
		return 0;
	} catch (const std::exception &e) {
		std::fprintf(stderr, "pmbench: dmlc: %s\n", e.what());
		return -1;
	}
}
