"""Realistic-looking synthetic people for benchmarks and demos: Vietnamese names, Sơn Động communes, CCCDs."""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Iterator

FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vi", "Nông", "La", "Hà", "Lương", "Chu", "Đặng", "Bùi", "Ninh"]
MIDDLE_MALE = ["Văn", "Đức", "Minh", "Quang", "Thế", "Hữu"]
MIDDLE_FEMALE = ["Thị", "Ngọc", "Thu", "Thanh"]
GIVEN_MALE = ["An", "Bình", "Cường", "Dũng", "Hùng", "Long", "Nam", "Phúc", "Quân", "Sơn", "Tùng", "Việt", "Xuân"]
GIVEN_FEMALE = ["Hoa", "Lan", "Mai", "Ngân", "Oanh", "Phương", "Thảo", "Yến"]
SON_DONG = ["07615", "07616", "07621", "07624", "07627", "07630", "07636", "07660"]
VILLAGES = ["Thôn Mới", "Thôn Biểu", "Thôn Chào", "Tổ dân phố 1", "Tổ dân phố 2", "Bản Đồng Bài", "Thôn Thượng"]
HEADER = ["Họ và tên", "Ngày sinh", "Giới tính", "Số CCCD", "Mã xã", "Thôn/Tổ dân phố", "Tình trạng"]


def people(count: int, seed: int = 7, communes: list[str] = SON_DONG) -> Iterator[list[str]]:
    """Rows shaped like a police review list; about 70% carry a citizen id, every row is distinct."""
    rng = random.Random(seed)
    for n in range(count):
        male = rng.random() < 0.9
        name = " ".join(
            [
                rng.choice(FAMILY),
                rng.choice(MIDDLE_MALE if male else MIDDLE_FEMALE),
                rng.choice(GIVEN_MALE if male else GIVEN_FEMALE),
            ]
        )
        year = rng.randint(1960, 2006)
        born = f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/{year}"
        century_sex = (0 if year < 2000 else 2) + (0 if male else 1)
        cid = f"024{century_sex}{year % 100:02d}{n:06d}" if rng.random() < 0.7 else ""
        yield [
            name,
            born,
            "Nam" if male else "Nữ",
            cid,
            rng.choice(communes),
            f"{rng.choice(VILLAGES)} {n}",
            "Nghiện" if rng.random() < 0.6 else "Sử dụng",
        ]


def as_csv(rows: list[list[str]]) -> bytes:
    """A UTF-8 CSV with the Vietnamese headings a commune police list uses."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")
