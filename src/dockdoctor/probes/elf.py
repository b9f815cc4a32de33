"""Pure ELF header reader: machine, class, byte order, PT_INTERP and the x86 ISA level note (stdlib only)."""

from __future__ import annotations

import struct
from dataclasses import dataclass

HEAD_BYTES = 16384  # what is read of a file: the ELF, program headers, .interp and .note.gnu.property sit at the start

PT_INTERP = 3
PT_NOTE = 4
PT_GNU_PROPERTY = 0x6474E553
NT_GNU_PROPERTY_TYPE_0 = 5
# binutils include/elf/common.h: GNU_PROPERTY_X86_UINT32_OR_LO (0xc0008000) + 2; bit 0 baseline, 1 v2, 2 v3, 3 v4
GNU_PROPERTY_X86_ISA_1_NEEDED = 0xC0008002
MAX_PHNUM = 256
MAX_NOTE = 4096

# e_machine -> GOARCH-style architecture (as platforms.normalize names them)
_MACHINES = {
    3: "386",
    8: "mips",
    20: "ppc",
    21: "ppc64",
    22: "s390x",
    40: "arm",
    62: "amd64",
    183: "arm64",
    243: "riscv64",
    258: "loong64",
}


class ElfError(ValueError):
    """Bytes that are not a readable ELF header (too short, wrong magic, an inconsistent header)."""


@dataclass(frozen=True, slots=True)
class Elf:
    """What an ELF header says about where the file can run."""

    machine: int  # e_machine
    bits: int  # 32 | 64
    little_endian: bool
    elf_type: int  # e_type: 2 executable, 3 shared object / PIE
    interpreter: str = ""  # PT_INTERP: "" for a static binary
    isa_needed: int | None = None  # GNU_PROPERTY_X86_ISA_1_NEEDED bits, when the note is there
    incomplete: bool = False  # a program header or its data lies past the bytes read

    @property
    def arch(self) -> str:
        """amd64, arm64, arm, 386, ppc64le, s390x, riscv64, mips64le ... ("" for a machine we do not know)."""
        name = _MACHINES.get(self.machine, "")
        if name == "ppc64" and self.little_endian:
            return "ppc64le"
        if name == "mips":
            return ("mips64" if self.bits == 64 else "mips") + ("le" if self.little_endian else "")
        return name

    @property
    def isa_level(self) -> int | None:
        """The x86-64 level the note requires (1 baseline .. 4), None without a note."""
        if self.isa_needed is None:
            return None
        level = 1
        for bit in range(1, 4):
            if self.isa_needed & (1 << bit):
                level = bit + 1
        return level


def is_elf(data: bytes) -> bool:
    return data[:4] == b"\x7fELF"


def parse(data: bytes) -> Elf:
    """The ELF header in `data` (the first bytes of a file); ElfError for anything that is not one."""
    if not is_elf(data):
        raise ElfError("not an ELF file (no \\x7fELF magic)")
    if len(data) < 52:
        raise ElfError(f"truncated ELF: {len(data)} bytes, shorter than an ELF header")
    if data[4] not in (1, 2) or data[5] not in (1, 2):
        raise ElfError(f"ELF header with an unknown class {data[4]} or byte order {data[5]}")
    bits, order = (64 if data[4] == 2 else 32), ("<" if data[5] == 1 else ">")
    if bits == 64 and len(data) < 64:
        raise ElfError(f"truncated ELF: {len(data)} bytes, shorter than a 64-bit ELF header")
    elf_type, machine = struct.unpack_from(order + "HH", data, 16)
    if bits == 64:
        (phoff,) = struct.unpack_from(order + "Q", data, 0x20)
        phentsize, phnum = struct.unpack_from(order + "HH", data, 0x36)
    else:
        (phoff,) = struct.unpack_from(order + "I", data, 0x1C)
        phentsize, phnum = struct.unpack_from(order + "HH", data, 0x2A)
    want = 56 if bits == 64 else 32
    if phnum and phentsize < want:
        raise ElfError(f"ELF program header entries of {phentsize} bytes (expected {want})")
    interpreter, isa, incomplete = "", None, False
    for i in range(min(phnum, MAX_PHNUM)):
        at = phoff + i * phentsize
        if at + want > len(data):
            incomplete = True
            break
        (ptype,) = struct.unpack_from(order + "I", data, at)
        if bits == 64:
            offset, filesz = (
                struct.unpack_from(order + "Q", data, at + 8)[0],
                struct.unpack_from(order + "Q", data, at + 32)[0],
            )
        else:
            offset, filesz = (
                struct.unpack_from(order + "I", data, at + 4)[0],
                struct.unpack_from(order + "I", data, at + 16)[0],
            )
        if ptype == PT_INTERP:
            if offset + filesz > len(data) or filesz > 4096:
                incomplete = True
                continue
            interpreter = data[offset : offset + filesz].split(b"\0", 1)[0].decode("utf-8", "replace")
        elif ptype in (PT_GNU_PROPERTY, PT_NOTE) and isa is None:
            if offset + min(filesz, MAX_NOTE) > len(data):
                incomplete = True
                continue
            isa = _isa_needed(data[offset : offset + min(filesz, MAX_NOTE)], order, 8 if bits == 64 else 4)
    return Elf(
        machine=machine,
        bits=bits,
        little_endian=order == "<",
        elf_type=elf_type,
        interpreter=interpreter,
        isa_needed=isa,
        incomplete=incomplete,
    )


def _align(n: int, to: int) -> int:
    return (n + to - 1) // to * to


def _isa_needed(notes: bytes, order: str, align: int) -> int | None:
    """GNU_PROPERTY_X86_ISA_1_NEEDED from a run of notes (NT_GNU_PROPERTY_TYPE_0 with owner "GNU")."""
    at = 0
    while at + 12 <= len(notes):
        namesz, descsz, ntype = struct.unpack_from(order + "III", notes, at)
        name_at = at + 12
        desc_at = name_at + _align(namesz, 4)
        end = desc_at + _align(descsz, 4)
        if namesz > 256 or descsz > len(notes) or end > len(notes) + 4:
            return None
        if ntype == NT_GNU_PROPERTY_TYPE_0 and notes[name_at : name_at + namesz] == b"GNU\0":
            desc = notes[desc_at : desc_at + descsz]
            p = 0
            while p + 8 <= len(desc):
                pr_type, pr_datasz = struct.unpack_from(order + "II", desc, p)
                if pr_type == GNU_PROPERTY_X86_ISA_1_NEEDED and pr_datasz >= 4 and p + 12 <= len(desc):
                    (isa,) = struct.unpack_from(order + "I", desc, p + 8)
                    return int(isa)
                p += 8 + _align(pr_datasz, align)
        at = _align(end, 4) if align == 4 else end
    return None


__all__ = ["HEAD_BYTES", "Elf", "ElfError", "is_elf", "parse"]
