use oci_spec::runtime::LinuxDeviceType::{A, B, C};

use super::*;
use crate::devices::tests::oci;

fn rules(list: &[oci_spec::runtime::LinuxDeviceCgroup]) -> Vec<Rule> {
    list.iter()
        .filter_map(|d| Rule::from_oci(d).unwrap())
        .collect()
}

const PROLOGUE: usize = 6;

#[test]
fn prologue_loads_context() {
    let prog = program(&rules(&[oci(false, A, None, None, "rwm")]));
    assert_eq!(
        prog[..PROLOGUE],
        [
            insn(0x61, 2, 1, 0, 0),
            insn(0x54, 2, 0, 0, 0xffff),
            insn(0x61, 3, 1, 0, 0),
            insn(0x74, 3, 0, 0, 16),
            insn(0x61, 4, 1, 4, 0),
            insn(0x61, 5, 1, 8, 0),
        ]
    );
    // Deny all and nothing else: deny everything.
    assert_eq!(
        prog[PROLOGUE..],
        [insn(0xb7, 0, 0, 0, 0), insn(0x95, 0, 0, 0, 0)]
    );
    // No rules leave a fresh cgroup as it is: everything allowed.
    assert_eq!(
        program(&[])[PROLOGUE..],
        [insn(0xb7, 0, 0, 0, 1), insn(0x95, 0, 0, 0, 0)]
    );
}

#[test]
fn exceptions_compile_to_blocks() {
    let prog = program(&rules(&[
        oci(false, A, None, None, "rwm"),
        oci(true, C, Some(1), Some(3), "rwm"),
        oci(true, B, Some(8), None, "r"),
    ]));
    let exit = insn(0x95, 0, 0, 0, 0);
    assert_eq!(
        prog[PROLOGUE..],
        [
            // allow c 1:3 rwm: no access check.
            insn(0x55, 2, 0, 4, DEV_CHAR),
            insn(0x55, 4, 0, 3, 1),
            insn(0x55, 5, 0, 2, 3),
            insn(0xb7, 0, 0, 0, 1),
            exit,
            // allow b 8:* r: access must be a subset.
            insn(0x55, 2, 0, 6, DEV_BLOCK),
            insn(0xbc, 1, 3, 0, 0),
            insn(0x54, 1, 0, 0, 2),
            insn(0x5d, 1, 3, 3, 0),
            insn(0x55, 4, 0, 2, 8),
            insn(0xb7, 0, 0, 0, 1),
            exit,
            // The default: deny.
            insn(0xb7, 0, 0, 0, 0),
            exit,
        ]
    );
}

#[test]
fn trailing_allow_all_resets_to_allow() {
    let prog = program(&rules(&[
        oci(true, C, Some(1), Some(3), "rwm"),
        oci(true, A, None, None, ""),
    ]));
    assert_eq!(
        prog[PROLOGUE..],
        [insn(0xb7, 0, 0, 0, 1), insn(0x95, 0, 0, 0, 0)]
    );
}

/// A tiny interpreter for the instructions we emit, to check the program's decisions.
fn run(prog: &[Insn], typ: i32, access: u32, major: u32, minor: u32) -> i64 {
    let ctx = [(typ as u32) | (access << 16), major, minor];
    let mut r = [0i64; 11];
    let mut pc = 0usize;
    loop {
        let i = prog[pc];
        let (lo, hi) = (usize::from(i.regs & 0xf), usize::from(i.regs >> 4));
        let (dst, src) = if cfg!(target_endian = "little") {
            (lo, hi)
        } else {
            (hi, lo)
        };
        pc += 1;
        let imm = i64::from(i.imm);
        let jump = |cond: bool, pc: &mut usize| {
            if cond {
                *pc = (*pc as isize + isize::from(i.off)) as usize;
            }
        };
        match i.code {
            0x61 => r[dst] = i64::from(ctx[usize::try_from(i.off).unwrap() / 4]),
            0x54 => r[dst] = (r[dst] as u32 & i.imm as u32) as i64,
            0x74 => r[dst] = ((r[dst] as u32) >> i.imm) as i64,
            0xbc => r[dst] = r[src] as u32 as i64,
            0xb7 => r[dst] = imm,
            0x55 => jump(r[dst] != imm, &mut pc),
            0x15 => jump(r[dst] == imm, &mut pc),
            0x5d => jump(r[dst] != r[src], &mut pc),
            0x95 => return r[0],
            c => panic!("unexpected opcode {c:#x}"),
        }
    }
}

#[test]
fn decisions_follow_v1_semantics() {
    use crate::devices::{ACC_MKNOD as M, ACC_READ as R, ACC_WRITE as W};
    let prog = program(&rules(&[
        oci(false, A, None, None, "rwm"),
        oci(true, C, Some(1), Some(3), "rwm"),
        oci(true, C, None, None, "m"),
        oci(true, B, Some(8), None, "r"),
        oci(false, C, Some(1), Some(3), "w"),
    ]));
    assert_eq!(run(&prog, DEV_CHAR, R, 1, 3), 1);
    assert_eq!(run(&prog, DEV_CHAR, R | W, 1, 3), 0);
    assert_eq!(run(&prog, DEV_CHAR, M, 1, 3), 1);
    assert_eq!(run(&prog, DEV_CHAR, M, 136, 0), 1);
    assert_eq!(run(&prog, DEV_CHAR, R, 136, 0), 0);
    assert_eq!(run(&prog, DEV_BLOCK, R, 8, 16), 1);
    assert_eq!(run(&prog, DEV_BLOCK, R | W, 8, 16), 0);
    assert_eq!(run(&prog, DEV_BLOCK, R, 9, 0), 0);
}

#[test]
fn split_access_rules_merge_as_in_v1() {
    use crate::devices::{ACC_READ as R, ACC_WRITE as W};
    let prog = program(&rules(&[
        oci(false, A, None, None, "rwm"),
        oci(true, C, Some(1), Some(3), "r"),
        oci(true, C, Some(1), Some(3), "w"),
    ]));
    assert_eq!(run(&prog, DEV_CHAR, R | W, 1, 3), 1);
    // An allow default with deny exceptions, narrowed by a later allow.
    let prog = program(&rules(&[
        oci(true, A, None, None, "rwm"),
        oci(false, C, Some(1), Some(3), "rw"),
        oci(true, C, Some(1), Some(3), "r"),
    ]));
    assert_eq!(run(&prog, DEV_CHAR, R, 1, 3), 1);
    assert_eq!(run(&prog, DEV_CHAR, W, 1, 3), 0);
    assert_eq!(run(&prog, DEV_CHAR, R, 1, 5), 1);
}
