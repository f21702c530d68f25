//! Files that survive anything: a full disk, rotation, compression, atomic finish, several
//! outputs. The real binary records from the replay server on 127.0.0.1 into a temp dir.

mod crash;
mod full_disk;
mod layout;
mod parquet;
mod raw;
mod raw_crash;
mod raw_gaps;
mod recover;
mod validate;
