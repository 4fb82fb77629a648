"""What the HTTP server itself refuses, before any app runs, is answered
in the project's JSON error shape too (never gunicorn's HTML page)."""
import socket

import orjson

from tests import live


def exchange(port, request):
    with socket.create_connection(('127.0.0.1', port), timeout=30) as sock:
        sock.sendall(request)
        sock.shutdown(socket.SHUT_WR)
        answer = b''
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b'\r\n\r\n')
    return head.split(b'\r\n'), body


def test_requests_the_server_cannot_parse_get_json_errors():
    with live.running_server() as (url, _env):
        port = int(url.rsplit(':', 1)[1])
        for request, status in (
                (b'PUT /v2/rating/modules/noop HTTP/1.1\r\nHost: x\r\n'
                 b'If-Match: "' + b'a' * 10000 + b'"\r\n\r\n', b' 431 '),
                (b'HELLO\r\n\r\n', b' 400 '),
                (b'POST /v1/rating/quote HTTP/1.1\r\nHost: x\r\n'
                 b'Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n',
                 b' 400 ')):
            head, body = exchange(port, request)
            assert status in head[0]
            assert b'Content-Type: application/json' in head
            error = orjson.loads(body)
            assert error['message'] and error['faultstring']
