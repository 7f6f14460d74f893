pub fn find_awsx_profile() {}
