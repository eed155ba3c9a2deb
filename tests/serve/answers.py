"""answers.py PREDICT_OUT PICTURES WRITE_OUT [--shutdown]: are the server's answers bears predict's?

PREDICT_OUT  the output of `bears predict MODEL PICTURE...` ("path: class (p%)  name prob ...")
PICTURES     lines "ANSWER_FILE PICTURE": which picture each answer file is the server's answer for
WRITE_OUT    lines "STATUS ANSWER_FILE" from curl --write-out, one per request sent
Every 200 answer must name predict's class for its picture, with every probability within 1e-4 of
the printed one (predict prints 4 decimals). Any other status fails, except with --shutdown (the
server was stopped mid-load): 503 "shutting down" and 000 (no answer, connection refused) pass.
Prints one line per problem and a summary; exit 1 on any problem."""
import json
import re
import sys

LINE = re.compile(r"^(.*): (\S+) \([\d.]+%\)((?:\s+\S+ [\d.]+)+)$")


def main():
    predict_out, pictures, write_out = sys.argv[1:4]
    shutdown = "--shutdown" in sys.argv[4:]
    expected = {}
    for line in open(predict_out):
        m = LINE.match(line.rstrip("\n"))
        if m:
            pairs = m.group(3).split()
            expected[m.group(1)] = (m.group(2), {pairs[i]: float(pairs[i + 1]) for i in range(0, len(pairs), 2)})
    picture_of = dict(line.split(maxsplit=1) for line in open(pictures).read().splitlines())
    problems, right, refused = [], 0, 0
    for line in open(write_out).read().splitlines():
        status, answer_file = line.split(maxsplit=1)
        picture = picture_of[answer_file].strip()
        if status != "200":
            body = open(answer_file).read() if status != "000" else ""
            if shutdown and (status == "000" or (status == "503" and "shutting down" in body)):
                refused += 1
            else:
                problems.append(f"{picture}: status {status} {body}")
            continue
        answer = json.load(open(answer_file))
        want_class, want = expected[picture]
        wrong = [k for k in want if abs(answer["probabilities"].get(k, -1) - want[k]) > 1e-4]
        if answer["class"] != want_class or wrong or set(answer["probabilities"]) != set(want):
            problems.append(f"{picture}: server said {answer}, bears predict {want_class} {want}")
        else:
            right += 1
    for p in problems[:20]:
        print("wrong:", p)
    print(f"{right} answers right, {refused} refused at shutdown, {len(problems)} wrong")
    sys.exit(1 if problems or right == 0 else 0)


main()
